package check

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

const snapshots = "../probe/testdata/snapshots/"

func judge(t *testing.T, name string) Result {
	t.Helper()
	f := probe.ProbeRoot(probe.NewRoot(snapshots + name + "/root"))
	res, err := Judge(policy.Default(), f)
	if err != nil {
		t.Fatalf("judge: %v", err)
	}
	return res
}

func ruleIDs(r Result) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Rule)
	}
	return out
}

func TestCheckJudgesEachSituationAsTheRulesSay(t *testing.T) {
	tests := []struct {
		snapshot string
		vm       string
		level    int // -1: unknown
		verdict  policy.Level
		want     []string
		notWant  []string
	}{
		{"intel-l0-nesting-off", "none", 0, policy.DoesNotWork, []string{"host-nesting-off", "host-nesting-changes-at-reload"}, []string{"host-amd-migration", "host-l0-ready"}},
		{"intel-l0-ready", "none", 0, policy.Supported, []string{"host-l0-ready"}, []string{"host-nesting-off", "host-nesting-changes-at-reload"}},
		{"amd-l0-nested", "none", 0, policy.DoesNotWork, []string{"host-amd-migration", "host-l0-ready"}, []string{"host-nesting-off"}},
		{"s390x-hpage", "none", 0, policy.DoesNotWork, []string{"host-s390x-hpage", "host-s390x-both-configured", "host-nesting-off"}, nil},
		{"aarch64-l0", "none", 0, policy.DoesNotWork, []string{"host-arch-not-nestable"}, []string{"host-l0-ready"}},
		{"rhel-on-vmware", "vmware", 1, policy.Untested, []string{"host-guest-of-non-kvm"}, []string{"host-guest-hides-virt", "host-l1-on-kvm"}},
		{"s390x-level2", "kvm", 2, policy.NotExpectedToWork, []string{"host-guest-depth"}, nil},
		{"kvm-guest-no-vmx", "kvm", 1, policy.DoesNotWork, []string{"host-guest-hides-virt"}, []string{"host-l1-on-kvm"}},
		{"rhel96-l1-on-kvm", "kvm", 1, policy.TechPreview, []string{"host-l1-on-kvm"}, []string{"host-l1-os-unlisted", "host-guest-hides-virt"}},
		{"wsl2", "microsoft", -1, policy.NotExpectedToWork, []string{"host-wsl2", "host-wsl2-vms"}, []string{"host-guest-of-non-kvm", "host-guest-hides-virt"}},
		{"pvm", "kvm", 1, policy.Unsupported, []string{"host-pvm", "host-l1-os-unlisted"}, []string{"host-guest-hides-virt", "host-container"}},
	}
	for _, tt := range tests {
		t.Run(tt.snapshot, func(t *testing.T) {
			r := judge(t, tt.snapshot)
			v := r.Host.Virtualization
			got := ruleIDs(r)
			if v.VM != tt.vm {
				t.Errorf("vm = %q, want %q (evidence %q)", v.VM, tt.vm, v.Evidence)
			}
			switch {
			case tt.level < 0 && v.Level != nil:
				t.Errorf("level = %d, want unknown", *v.Level)
			case tt.level >= 0 && (v.Level == nil || *v.Level != tt.level):
				t.Errorf("level = %v, want %d", v.Level, tt.level)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s (findings %v)", r.Verdict, tt.verdict, got)
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s did not fire; findings %v", w, got)
				}
			}
			for _, w := range tt.notWant {
				if slices.Contains(got, w) {
					t.Errorf("%s fired; findings %v", w, got)
				}
			}
			for _, f := range r.Findings {
				if strings.Contains(f.Message+f.Remedy, "{{") || f.Source == "" {
					t.Errorf("finding %s: unexpanded template or no source", f.Rule)
				}
			}
		})
	}
}

func TestRemediesAreTheCommandsForThisHostsModule(t *testing.T) {
	r := judge(t, "intel-l0-nesting-off")
	for _, f := range r.Findings {
		if f.Rule == "host-nesting-off" {
			for _, want := range []string{"modprobe -r kvm_intel && modprobe kvm_intel nested=1", "echo 'options kvm_intel nested=1' > /etc/modprobe.d/kvm.conf"} {
				if !strings.Contains(f.Remedy, want) {
					t.Errorf("remedy lacks %q: %s", want, f.Remedy)
				}
			}
			return
		}
	}
	t.Fatal("no host-nesting-off finding")
}

func TestModprobeFactsFollowModprobesPrecedence(t *testing.T) {
	k := judge(t, "intel-l0-nesting-off").Host.KVM
	if k.Nested == nil || *k.Nested || k.NestedNext == nil || !*k.NestedNext {
		t.Errorf("live nested %v, next %v: want off now, on at the next load", k.Nested, k.NestedNext)
	}
	// usr/lib/modprobe.d/kvm.conf is hidden by etc/modprobe.d/kvm.conf.
	if len(k.Config) != 1 || !strings.Contains(k.Config[0], "etc/modprobe.d/kvm.conf:2") {
		t.Errorf("config = %v", k.Config)
	}
	z := judge(t, "s390x-hpage").Host.KVM
	if z.HpageNext == nil || !*z.HpageNext || z.NestedNext == nil || !*z.NestedNext || z.Module == nil || *z.Module != "kvm" {
		t.Errorf("IBM Z: module %v, hpage next %v, nested next %v", z.Module, z.HpageNext, z.NestedNext)
	}
}

func TestPVMIsKVMWithoutVMXAndTheDockerenvIsNoContainer(t *testing.T) {
	r := judge(t, "pvm")
	h := r.Host
	if !h.KVM.Available || h.KVM.Module == nil || *h.KVM.Module != "kvm_pvm" || h.VirtExt != "" {
		t.Errorf("kvm %+v, extension %q", h.KVM, h.VirtExt)
	}
	if h.Virtualization.Container != "none" {
		t.Errorf("container = %q; PID 1 is the kernel's rdinit", h.Virtualization.Container)
	}
}

func TestContradictoryFactsAreUnknownWithANote(t *testing.T) {
	r := judge(t, "contradictory")
	h := r.Host
	if h.KVM.Nested != nil {
		t.Errorf("nested=maybe read as %v", *h.KVM.Nested)
	}
	notes := strings.Join(h.Notes, "\n")
	for _, want := range []string{
		`nested reads "maybe"`,
		"proc/cpuinfo: is a directory",
		"cpuid.txt line 2: not a CPUID line",
		"cpuid.txt line 3: bad register value",
		"unbalanced quotes",
		`value "sometimes" is neither on nor off`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if h.Virtualization.VM != "kvm" {
		t.Errorf("the valid CPUID line was lost: vm %q", h.Virtualization.VM)
	}
}

func TestJSONHasTheDocumentedShape(t *testing.T) {
	data, err := json.Marshal(judge(t, "amd-l0-nested"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Verdict *string `json:"verdict"`
		Host    struct {
			Arch      *string `json:"arch"`
			CPUVendor *string `json:"cpu_vendor"`
			OS        struct {
				ID      *string `json:"id"`
				Version *string `json:"version"`
			} `json:"os"`
			Virtualization map[string]json.RawMessage `json:"virtualization"`
			KVM            map[string]json.RawMessage `json:"kvm"`
		} `json:"host"`
		Findings []map[string]json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Verdict == nil || doc.Host.Arch == nil || *doc.Host.CPUVendor != "amd" || *doc.Host.OS.ID != "rhel" || *doc.Host.OS.Version != "10.0" {
		t.Errorf("top-level fields: %s", data)
	}
	for _, k := range []string{"vm", "container", "cloud", "level"} {
		if _, ok := doc.Host.Virtualization[k]; !ok {
			t.Errorf("virtualization lacks %s", k)
		}
	}
	for _, k := range []string{"available", "module", "nested", "hpage"} {
		if _, ok := doc.Host.KVM[k]; !ok {
			t.Errorf("kvm lacks %s", k)
		}
	}
	if string(doc.Host.KVM["nested"]) != "true" || string(doc.Host.KVM["hpage"]) != "null" || string(doc.Host.Virtualization["cloud"]) != "null" {
		t.Errorf("kvm %s, cloud %s", doc.Host.KVM["nested"], doc.Host.Virtualization["cloud"])
	}
	for _, f := range doc.Findings {
		for _, k := range []string{"rule", "level", "message", "source", "remedy"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding lacks %s", k)
			}
		}
	}
}

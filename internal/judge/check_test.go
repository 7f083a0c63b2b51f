package judge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/machine"
)

const snapshots = "../probe/testdata/snapshots/"

func probeDir(t *testing.T, dir string) probe.Facts {
	t.Helper()
	r, err := probe.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := machine.Probe(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func check(t *testing.T, f probe.Facts) CheckResult {
	t.Helper()
	res, err := Check(policy.Default(), f)
	if err != nil {
		t.Fatalf("judge: %s", err)
	}
	return res
}

func judgeSnapshot(t *testing.T, name string) CheckResult {
	t.Helper()
	return check(t, probeDir(t, snapshots+name+"/root"))
}

// decided and undetermined list the rules that fired, apart.
func decided(r CheckResult) (dec, und []string) {
	for _, f := range r.Findings {
		if f.Undetermined {
			und = append(und, f.Rule)
		} else {
			dec = append(dec, f.Rule)
		}
	}
	return dec, und
}

func TestCheckJudgesEachSituationAsTheRulesSay(t *testing.T) {
	yes, no, rhel10 := true, false, "rhel10.0"
	tests := []struct {
		snapshot  string
		migration *bool
		l0OS      *string
		vm        string
		level     int // exact; -1: not exact
		levelMin  int
		verdict   policy.Level
		want      []string // decided
		undeter   []string
		notWant   []string
	}{
		{"intel-l0-nesting-off", nil, nil, "none", 0, 0, policy.DoesNotWork, []string{"host-nesting-off", "host-nesting-changes-at-reload"}, nil, []string{"host-amd-migration", "host-l0-ready"}},
		{"intel-l0-ready", nil, nil, "none", 0, 0, policy.Supported, []string{"host-l0-ready"}, nil, []string{"host-nesting-off", "host-nesting-changes-at-reload"}},
		// An AMD L0 with nesting on: supported for nesting; whether migration bites
		// depends on a fact only the admin can state.
		{"amd-l0-nested", nil, nil, "none", 0, 0, policy.Supported, []string{"host-l0-ready"}, []string{"host-amd-migration"}, []string{"host-nesting-off"}},
		{"amd-l0-nested", &yes, nil, "none", 0, 0, policy.DoesNotWork, []string{"host-amd-migration", "host-l0-ready"}, nil, nil},
		{"amd-l0-nested", &no, nil, "none", 0, 0, policy.Supported, []string{"host-l0-ready"}, nil, []string{"host-amd-migration"}},
		{"s390x-hpage", nil, nil, "none", 0, 0, policy.DoesNotWork, []string{"host-s390x-hpage", "host-s390x-both-configured", "host-nesting-off"}, nil, []string{"host-l0-ready-ibmz"}},
		{"aarch64-l0", nil, nil, "none", 0, 0, policy.DoesNotWork, []string{"host-arch-not-nestable"}, nil, []string{"host-l0-ready"}},
		// An aarch64 RHEL 10 host without KVM: not "supported" because nothing applies.
		{"aarch64-no-kvm", nil, nil, "none", 0, 0, policy.DoesNotWork, []string{"host-arch-not-nestable"}, nil, []string{"host-l0-ready"}},
		{"intel-l0-vmx-off", nil, nil, "none", 0, 0, policy.DoesNotWork, []string{"host-no-kvm"}, nil, []string{"host-l0-ready"}},
		{"debian-l0", nil, nil, "none", 0, 0, policy.Unsupported, []string{"host-l0-os"}, nil, []string{"host-l0-ready"}},
		{"rhel-on-vmware", nil, nil, "vmware", -1, 1, policy.Untested, []string{"host-guest-of-non-kvm"}, nil, []string{"host-guest-hides-virt", "host-l1-on-kvm"}},
		{"s390x-level2", nil, nil, "kvm", 2, 2, policy.NotExpectedToWork, []string{"host-guest-depth"}, nil, nil},
		{"kvm-guest-no-vmx", nil, nil, "kvm", -1, 1, policy.DoesNotWork, []string{"host-guest-hides-virt"}, nil, []string{"host-l1-on-kvm"}},
		// A RHEL 9.6 L1 on KVM: Technology Preview only if its L0 runs RHEL 10,
		// which cannot be seen from inside; stated, it is.
		{"rhel96-l1-on-kvm", nil, nil, "kvm", -1, 1, policy.Unsupported, nil, []string{"host-l1-on-kvm", "host-l1-l0-unlisted"}, []string{"host-l1-os-unlisted", "host-guest-hides-virt"}},
		{"rhel96-l1-on-kvm", nil, &rhel10, "kvm", -1, 1, policy.TechPreview, []string{"host-l1-on-kvm"}, nil, []string{"host-l1-os-unlisted", "host-l1-l0-unlisted"}},
		// QEMU emulation is not KVM: a RHEL 10 L1 under TCG is a guest of a non-KVM L0.
		{"rhel10-l1-on-tcg", nil, &rhel10, "qemu", -1, 1, policy.Untested, []string{"host-guest-of-non-kvm"}, nil, []string{"host-l1-on-kvm"}},
		{"wsl2", nil, nil, "microsoft", -1, 1, policy.NotExpectedToWork, []string{"host-wsl2", "host-wsl2-vms"}, nil, []string{"host-guest-of-non-kvm", "host-guest-hides-virt"}},
		{"pvm", nil, nil, "kvm", -1, 1, policy.Unsupported, []string{"host-pvm", "host-l1-os-unlisted"}, nil, []string{"host-guest-hides-virt", "host-container"}},
	}
	for _, tt := range tests {
		name := tt.snapshot
		if tt.migration != nil || tt.l0OS != nil {
			name += " (stated)"
		}
		t.Run(name, func(t *testing.T) {
			f := probeDir(t, snapshots+tt.snapshot+"/root")
			f.Stated.Migration, f.Stated.L0OS = tt.migration, tt.l0OS
			r := check(t, f)
			v := r.Host.Virtualization
			dec, und := decided(r)
			if probe.Str(v.VM) != tt.vm {
				t.Errorf("vm = %q, want %q (evidence %q)", probe.Str(v.VM), tt.vm, v.Evidence)
			}
			switch {
			case tt.level < 0 && (v.Level != nil || v.LevelExact):
				t.Errorf("level = %d (exact %v), want unknown: a guest cannot see past its hypervisor", *v.Level, v.LevelExact)
			case tt.level >= 0 && (v.Level == nil || *v.Level != tt.level || !v.LevelExact):
				t.Errorf("level = %v, want exactly %d", v.Level, tt.level)
			}
			if v.LevelMin == nil || *v.LevelMin != tt.levelMin {
				t.Errorf("level_min = %v, want %d", v.LevelMin, tt.levelMin)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s (decided %v, undetermined %v)", r.Verdict, tt.verdict, dec, und)
			}
			for _, w := range tt.want {
				if !slices.Contains(dec, w) {
					t.Errorf("%s was not decided; decided %v, undetermined %v", w, dec, und)
				}
			}
			for _, w := range tt.undeter {
				if !slices.Contains(und, w) {
					t.Errorf("%s is not undetermined; decided %v, undetermined %v", w, dec, und)
				}
			}
			for _, w := range tt.notWant {
				if slices.Contains(dec, w) || slices.Contains(und, w) {
					t.Errorf("%s fired; decided %v, undetermined %v", w, dec, und)
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

func TestATreeWithOnlyACPUInfoKnowsNeitherOSNorKVM(t *testing.T) {
	r := judgeSnapshot(t, "only-cpuinfo")
	h := r.Host
	if h.OS != nil || h.KVM.Available != nil || h.KVM.Module != nil {
		t.Errorf("os %v, kvm available %v, module %v: they were not in the tree", h.OS, h.KVM.Available, h.KVM.Module)
	}
	if r.Verdict == policy.Supported {
		t.Errorf("verdict supported on a cpuinfo alone")
	}
	if _, und := decided(r); !slices.Contains(und, "host-l0-ready") || !slices.Contains(und, "host-l0-os") {
		t.Errorf("undetermined %v", und)
	}
}

func TestAnEmptyTreeIsNotASnapshot(t *testing.T) {
	if _, err := probe.OpenRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a snapshot") {
		t.Errorf("err = %s", err)
	}
}

// TestRemediesNameNestvirtAndNeverOverwriteAFile: every remedy that changes a
// host names the nestvirt command that does it safely, and no remedy writes over
// a file with "echo ... >".
func TestRemediesNameNestvirtAndNeverOverwriteAFile(t *testing.T) {
	ents, _ := os.ReadDir(snapshots)
	seen := 0
	for _, e := range ents {
		for _, mig := range []bool{false, true} {
			f := probeDir(t, snapshots+e.Name()+"/root")
			f.Stated.Migration = &mig
			for _, fd := range check(t, f).Findings {
				if fd.Remedy == "" {
					continue
				}
				seen++
				if strings.Contains(fd.Remedy, "> /etc") || strings.Contains(fd.Remedy, "echo '") {
					t.Errorf("%s/%s: remedy overwrites a file: %s", e.Name(), fd.Rule, fd.Remedy)
				}
				if strings.Contains(fd.Remedy, "modprobe.d") && !strings.Contains(fd.Remedy, "nestvirt ") {
					t.Errorf("%s/%s: remedy edits modprobe.d but names no nestvirt command: %s", e.Name(), fd.Rule, fd.Remedy)
				}
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d remedies seen", seen)
	}
}

func TestNoRemedyForAModuleThisMachineDoesNotUse(t *testing.T) {
	f := probeDir(t, snapshots+"pvm/root")
	r := check(t, f)
	for _, fd := range r.Findings {
		if strings.Contains(fd.Remedy, "kvm_amd") || strings.Contains(fd.Remedy, "kvm_intel") {
			t.Errorf("%s: a remedy for a module a PVM host does not use: %s", fd.Rule, fd.Remedy)
		}
	}
	pos := PositionOf(f)
	if pos.L0.Seen || pos.L0.Name != UnseenL0 {
		t.Errorf("a PVM guest is not the L0 of its VMs: %+v", pos.L0)
	}
}

func TestPVMIsKVMWithoutVMXAndTheDockerenvIsNoContainer(t *testing.T) {
	h := judgeSnapshot(t, "pvm").Host
	if h.KVM.Available == nil || !*h.KVM.Available || probe.Str(h.KVM.Module) != "kvm_pvm" || probe.Str(h.VirtExt) != "none" {
		t.Errorf("kvm %+v, extension %v", h.KVM, h.VirtExt)
	}
	if h.KVM.ConfigModule != nil || h.KVM.NestedNext != nil {
		t.Errorf("a CPU without SVM has no kvm_amd next load: %v %v", h.KVM.ConfigModule, h.KVM.NestedNext)
	}
	if probe.Str(h.Virtualization.Container) != "none" {
		t.Errorf("container = %q; PID 1 is the kernel's rdinit", probe.Str(h.Virtualization.Container))
	}
}

func TestContradictoryFactsAreUnknownWithANote(t *testing.T) {
	h := judgeSnapshot(t, "contradictory").Host
	if h.KVM.Nested != nil {
		t.Errorf("nested=maybe read as %v", *h.KVM.Nested)
	}
	notes := strings.Join(h.Notes, "\n")
	for _, want := range []string{
		`nested reads "maybe"`,
		"proc/cpuinfo: not a regular file (a directory)",
		"cpuid.txt line 2: not a CPUID line",
		"cpuid.txt line 3: bad register value",
		"unbalanced quotes",
		`value "sometimes" is neither on nor off`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if probe.Str(h.Virtualization.VM) != "kvm" {
		t.Errorf("the valid CPUID line was lost: vm %v", h.Virtualization.VM)
	}
}

func TestUnknownFactsAreNullInJSON(t *testing.T) {
	data, err := json.Marshal(judgeSnapshot(t, "only-cpuinfo"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Host struct {
			OS             json.RawMessage            `json:"os"`
			Virtualization map[string]json.RawMessage `json:"virtualization"`
			KVM            map[string]json.RawMessage `json:"kvm"`
		} `json:"host"`
		Findings []map[string]json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if string(doc.Host.OS) != "null" || string(doc.Host.KVM["available"]) != "null" || string(doc.Host.KVM["module"]) != "null" || string(doc.Host.Virtualization["level"]) != "0" {
		t.Errorf("unknown facts must be null: %s", data)
	}
	for _, f := range doc.Findings {
		for _, k := range []string{"rule", "level", "informational", "undetermined", "unknown", "message", "source", "remedy"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding lacks %s", k)
			}
		}
	}
}

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestABorrowedSignatureDoesNotMakeAKVMGuest: VirtualBox and Parallels can show
// a guest KVM's or Hyper-V's CPUID signature; their DMI names the product, and
// the guest is judged as a guest of a non-KVM hypervisor, never as an L1 on KVM.
func TestABorrowedSignatureDoesNotMakeAKVMGuest(t *testing.T) {
	for _, c := range []string{"virtualbox-kvm-provider", "virtualbox-hyperv-provider", "parallels-hyperv"} {
		t.Run(c, func(t *testing.T) {
			ar, err := txtar.ParseFile("../probe/identity/testdata/" + c + ".txtar")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			put := func(name, data string) {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range ar.Files {
				if f.Name != "expected.json" {
					put(f.Name, string(f.Data))
				}
			}
			// A RHEL 10 guest that can host VMs, with L0 stated as RHEL 10: were the
			// borrowed signature believed, this would be a Technology Preview L1.
			put("etc/os-release", "ID=rhel\nVERSION_ID=10.0\nNAME=\"Red Hat Enterprise Linux\"\n")
			put("dev/kvm", "")
			put("sys/module/kvm_intel/parameters/nested", "Y\n")
			f := probeDir(t, dir)
			rhel10 := "rhel10.0"
			f.Stated.L0OS = &rhel10
			r := check(t, f)
			dec, und := decided(r)
			if !slices.Contains(dec, "host-guest-of-non-kvm") {
				t.Errorf("host-guest-of-non-kvm not decided; decided %v, undetermined %v (evidence %q)", dec, und, r.Host.Virtualization.Evidence)
			}
			if slices.Contains(dec, "host-l1-on-kvm") || slices.Contains(und, "host-l1-on-kvm") {
				t.Errorf("judged as an L1 on KVM: decided %v, undetermined %v", dec, und)
			}
			if r.Verdict != policy.Untested {
				t.Errorf("verdict %s, want untested", r.Verdict)
			}
		})
	}
}

// TestAnOversizedRecordIsUnknownNotJudgedByTheThousand: a domain whose
// nestvirt record lists 2 MiB of <l2> entries (libvirt accepts it) made vms
// take 20.6 s and 328 MB, one chain per entry. The record is refused before it
// is decoded: one chain, what the guest runs unknown, and a note that says why.
func TestAnOversizedRecordIsUnknownNotJudgedByTheThousand(t *testing.T) {
	var l2 strings.Builder
	for l2.Len() < 2<<20 {
		l2.WriteString("<nestvirt:l2>rhel9.4</nestvirt:l2>")
	}
	xml := "<domain type='kvm'><name>big</name><memory>65536</memory><metadata><nestvirt:guest xmlns:nestvirt='https://nestvirt.dev/xmlns/libvirt/1'><nestvirt:runs>kvm</nestvirt:runs>" + l2.String() + "</nestvirt:guest></metadata><os><type arch='x86_64'>hvm</type></os><cpu mode='host-passthrough'/></domain>"
	host := probeDir(t, snapshots+"intel-l0-ready/root")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	a := VMs(policy.Default(), host, []domxml.Record{{Name: "big", State: "shut off", XML: []byte(xml)}}, nil)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	v := a.VMs[0]
	if len(v.Chains) != 1 || v.Runs != "" || len(v.L2) != 0 || !strings.Contains(v.MetadataNote, "is not read: nestvirt metadata: the record is 2") {
		t.Errorf("%d chains, runs %q, %d L2, note %q", len(v.Chains), v.Runs, len(v.L2), v.MetadataNote)
	}
	if chains := PositionOf(host).Chains(v.VM); len(chains) != 1 || !slices.Contains(chains[0].Unknown, "l1.runs") {
		t.Errorf("what the guest runs is not unknown: %+v", chains)
	}
	if took > 5*time.Second || after.TotalAlloc-before.TotalAlloc > 100<<20 {
		t.Errorf("took %s and %d MiB", took, (after.TotalAlloc-before.TotalAlloc)>>20)
	}
	t.Logf("judged in %s, %d MiB allocated", took, (after.TotalAlloc-before.TotalAlloc)>>20)
}

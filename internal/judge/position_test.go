package judge

import (
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// TestPositionPlacesTheHostWhereTheEvidenceDoes: bare metal is the L0; a guest
// stands above an L0 it cannot see; IBM Z's exact depth adds the levels between;
// QEMU's emulation is a non-KVM L0 whose CPU the guest cannot see; a host whose
// position is unknown is judged as the L0, with a note saying so.
func TestPositionPlacesTheHostWhereTheEvidenceDoes(t *testing.T) {
	tests := []struct {
		snapshot   string
		path       []string
		hypervisor string
		unknown    []string // among pos.Unknown
		note       string   // in a note; "" for none
	}{
		{"intel-l0-ready", []string{"host"}, "kvm", nil, ""},
		{"rhel96-l1-on-kvm", []string{UnseenL0, "host"}, "kvm", []string{"l0.os", "l0.migration"}, "its VMs are L2 guests at least"},
		{"s390x-level2", []string{UnseenL0, "L1 (not visible from here)", "host"}, "kvm", []string{"l0.os", "l1.os"}, ""},
		{"rhel10-l1-on-tcg", []string{UnseenL0, "host"}, "qemu", []string{"l0.cpu", "l0.os"}, "L2 guests at least"},
		{"", []string{"host"}, "kvm", []string{"l0.arch", "l0.os", "l0.nested"}, "where this host stands is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.snapshot, func(t *testing.T) {
			var f probe.Facts
			if tt.snapshot != "" {
				f = probeDir(t, snapshots+tt.snapshot+"/root")
			}
			pos := PositionOf(f)
			if !slices.Equal(pos.Path, tt.path) {
				t.Errorf("path %q, want %q", pos.Path, tt.path)
			}
			if pos.L0.Hypervisor != tt.hypervisor {
				t.Errorf("L0 hypervisor %q, want %q", pos.L0.Hypervisor, tt.hypervisor)
			}
			if len(pos.Above) != len(tt.path)-1 {
				t.Errorf("%d levels above the L0 for path %q", len(pos.Above), tt.path)
			}
			for _, u := range tt.unknown {
				if !slices.Contains(pos.Unknown, u) {
					t.Errorf("%s is not unknown: %q", u, pos.Unknown)
				}
			}
			notes := strings.Join(pos.Notes, "\n")
			if tt.note == "" && strings.Contains(notes, "at least") {
				t.Errorf("an exact depth is hedged: %q", notes)
			}
			if !strings.Contains(notes, tt.note) {
				t.Errorf("notes %q lack %q", notes, tt.note)
			}
		})
	}
}

func vm(name, os string, exposes bool, l2 ...string) domxml.VM {
	v := domxml.VM{Name: name, Exposes: &exposes, Runs: "none", Type: "kvm", Platform: "rhel", L2: l2}
	if exposes {
		v.Runs = "kvm"
	}
	if os != "" {
		o, err := osid.Parse(os)
		if err != nil {
			panic(err)
		}
		v.SetOS(o, "test")
	}
	return v
}

// TestAVMsChainStartsWhereItsHostStands: on an L1 host a VM is an L2 and its
// guests L3s, with the unseen L0 in the path; on an L0 a domain run by QEMU's
// emulation has a non-KVM L0; a VM whose OS is unknown says which level's OS.
func TestAVMsChainStartsWhereItsHostStands(t *testing.T) {
	l0 := PositionOf(probeDir(t, snapshots+"intel-l0-ready/root"))
	l1 := PositionOf(probeDir(t, snapshots+"rhel96-l1-on-kvm/root"))
	tcg := vm("emulated", "rhel10.0", true, "rhel10.0")
	tcg.Type = "qemu"
	tests := []struct {
		name    string
		pos     Position
		vm      domxml.VM
		paths   [][]string
		verdict policy.Level
		unknown string // a path the chain lists as unknown
	}{
		{"an L1 on an L0", l0, vm("lab", "rhel10.0", true, "rhel10.0"),
			[][]string{{"host", "lab", "rhel10.0"}}, policy.TechPreview, ""},
		{"a plain VM of an L1 host is an L2", l1, vm("web", "rhel10.0", false),
			[][]string{{UnseenL0, "host", "web"}}, policy.Unsupported, "l0.os"},
		{"the guest of an L1 host's VM is an L3", l1, vm("lab", "rhel10.0", true, "rhel10.0"),
			[][]string{{UnseenL0, "host", "lab", "rhel10.0"}}, policy.NotExpectedToWork, ""},
		{"QEMU emulation is no KVM L0", l0, tcg,
			[][]string{{"host", "emulated", "rhel10.0"}}, policy.Untested, ""},
		{"an unknown OS is the L2's on an L1 host", l1, vm("mystery", "", false),
			[][]string{{UnseenL0, "host", "mystery"}}, policy.Unsupported, "l2.os"},
		{"one chain per annotated guest", l0, vm("ci", "rhel10.0", true, "rhel10.0", "win11"),
			[][]string{{"host", "ci", "rhel10.0"}, {"host", "ci", "win11"}}, policy.Unsupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chains := tt.pos.Chains(tt.vm)
			if len(chains) != len(tt.paths) {
				t.Fatalf("%d chains, want %d", len(chains), len(tt.paths))
			}
			var unknown []string
			for i, c := range chains {
				if !slices.Equal(c.Path, tt.paths[i]) {
					t.Errorf("chain %d path %q, want %q", i, c.Path, tt.paths[i])
				}
				if len(c.Guests) != len(c.Path)-1 {
					t.Errorf("chain %d: %d guests for path %q", i, len(c.Guests), c.Path)
				}
				unknown = append(unknown, c.Unknown...)
			}
			if tt.vm.Type == "qemu" && chains[0].L0.Hypervisor != "qemu" {
				t.Errorf("L0 hypervisor %q for an emulated domain", chains[0].L0.Hypervisor)
			}
			if tt.unknown != "" && !slices.Contains(unknown, tt.unknown) {
				t.Errorf("%s not unknown: %q", tt.unknown, unknown)
			}
			results, err := policy.Default().JudgeChains(chains)
			if err != nil {
				t.Fatal(err)
			}
			worst := results[0].Verdict
			for _, r := range results {
				worst = policy.Worst(worst, r.Verdict)
			}
			if worst != tt.verdict {
				t.Errorf("verdict %s, want %s (%+v)", worst, tt.verdict, results)
			}
		})
	}
}

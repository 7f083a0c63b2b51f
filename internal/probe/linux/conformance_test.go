//go:build corpora

package linux

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/corpus"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// The real machine snapshots of virt-what's test suite are read from beside the
// repository (package corpus), never copied in: their licence differs from ours.

type expectation struct {
	Case      string   `json:"case"`
	Arch      string   `json:"arch"`
	VM        []string `json:"vm"`
	Container []string `json:"container"`
}

// answers pins one answer per machine, where the corpus accepts several (virt-what
// prints every fact it finds: "kvm" and "alibaba", or a container under two
// names): nestvirt gives one, systemd-detect-virt's, and a change of it must be
// deliberate. A vm of "" is unknown (null); where the corpus says nothing of the
// machine below a container, the answer nestvirt gives from the CPUID and DMI
// the case carries is pinned as it is.
var answers = map[string]struct{ vm, container, hypervisor string }{
	"alibaba-cloud-arm":    {"kvm", "none", "cloud"}, // a public cloud: its provider runs the L0 (identity.CloudL0)
	"aws-baremetal-x86":    {"none", "none", "none"},
	"aws-kvm-x86":          {"amazon", "none", "aws"},
	"baremetal":            {"none", "none", "none"},
	"bhyve":                {"bhyve", "none", "other"},
	"crio":                 {"none", "crio", "none"},
	"docker":               {"", "docker", ""},
	"esx4.1":               {"vmware", "none", "esxi"},
	"hyperv":               {"microsoft", "none", "hyper-v"},
	"illumos-lx":           {"", "illumos-lx", ""},
	"kvm-explicit-cpu":     {"kvm", "none", "kvm"},
	"kvm":                  {"kvm", "none", "kvm"},
	"lkvm-arm":             {"kvm", "none", "kvm"},
	"lkvm":                 {"kvm", "none", "kvm"},
	"lxc":                  {"none", "lxc", "none"},
	"oci":                  {"none", "oci", "none"},
	"ppc64-baremetal":      {"none", "none", "none"},
	"ppc64-kvm":            {"kvm", "none", "kvm"},
	"ppc64-lpar-dedicated": {"powervm", "none", "other"},
	"qemu-arm":             {"qemu", "none", ""}, // QEMU whose accelerator is not shown
	"qemu-smbios":          {"qemu", "none", "qemu"},
	"qemu":                 {"qemu", "none", ""},
	"rhel5-xen-dom0":       {"xen", "none", "xen"},
	"rhel5-xen-domU-hvm":   {"xen", "none", "xen"},
	"rhev":                 {"kvm", "none", "kvm"},
	"vmm":                  {"vmm", "none", "other"},
	"zvm":                  {"zvm", "none", "other"},
}

func TestConformanceWithRealMachines(t *testing.T) {
	conformanceDir, err := corpus.Dir("conformance/virt-what")
	if err != nil {
		t.Fatal(err)
	}
	cases, err := filepath.Glob(filepath.Join(conformanceDir, "*", "expected.json"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no conformance cases in %s: %v", conformanceDir, err)
	}
	if len(cases) != len(answers) {
		t.Errorf("%d conformance cases, %d answers pinned", len(cases), len(answers))
	}
	for _, exp := range cases {
		dir := filepath.Dir(exp)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(exp)
			if err != nil {
				t.Fatal(err)
			}
			var want expectation
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			f := probeTree(t, filepath.Join(dir, "root"))
			v := f.Virtualization
			vm, container := probe.Str(v.VM), probe.Str(v.Container)
			ours, ok := answers[filepath.Base(dir)]
			if !ok {
				t.Fatalf("no answer pinned for this machine")
			}
			if (want.VM != nil && !slices.Contains(want.VM, ours.vm)) || !slices.Contains(want.Container, ours.container) {
				t.Fatalf("the pinned answer %+v is not one the corpus accepts (vm %v, container %v)", ours, want.VM, want.Container)
			}
			if vm != ours.vm || container != ours.container || probe.Str(v.Hypervisor) != ours.hypervisor {
				t.Errorf("vm %q, container %q, hypervisor %q; want %q, %q, %q (evidence %q, notes %q)", vm, container, probe.Str(v.Hypervisor), ours.vm, ours.container, ours.hypervisor, v.Evidence, f.Notes)
			}
			if probe.Str(f.Arch) != arch.Normalize(want.Arch) {
				t.Errorf("arch = %q, want %q", probe.Str(f.Arch), want.Arch)
			}
			if vm == "none" && (v.Level == nil || *v.Level != 0 || !v.LevelExact) {
				t.Errorf("bare metal with level %v (exact %v)", v.Level, v.LevelExact)
			}
			if vm != "none" && vm != "" && (v.LevelMin == nil || *v.LevelMin < 1) {
				t.Errorf("a %s guest with level_min %v", vm, v.LevelMin)
			}
			if vm != "none" && v.Level != nil && !v.LevelExact {
				t.Errorf("a %s guest claims level %d without proof", vm, *v.Level)
			}
		})
	}
}

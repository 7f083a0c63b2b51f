package probe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// conformanceDir holds real machine snapshots from virt-what's test suite, beside
// the repository as in CI (../shared/conformance/virt-what). Their licence differs
// from ours, so they are read from there, never copied in.
const conformanceDir = "../../../shared/conformance/virt-what"

type expectation struct {
	Case      string   `json:"case"`
	Arch      string   `json:"arch"`
	VM        []string `json:"vm"`
	Container []string `json:"container"`
}

func TestConformanceWithRealMachines(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(conformanceDir, "*", "expected.json"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no conformance cases in %s (it must be beside the repository): %v", conformanceDir, err)
	}
	if len(cases) < 27 {
		t.Errorf("only %d conformance cases", len(cases))
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
			f := ProbeRoot(NewRoot(filepath.Join(dir, "root")))
			v := f.Virtualization
			if want.VM != nil && !slices.Contains(want.VM, v.VM) {
				t.Errorf("vm = %q, want one of %v (evidence %q)", v.VM, want.VM, v.Evidence)
			}
			if !slices.Contains(want.Container, v.Container) {
				t.Errorf("container = %q, want one of %v (evidence %q)", v.Container, want.Container, v.Evidence)
			}
			if f.Arch != want.Arch {
				t.Errorf("arch = %q, want %q", f.Arch, want.Arch)
			}
			if v.VM == "none" && (v.Level == nil || *v.Level != 0) {
				t.Errorf("bare metal with level %v", v.Level)
			}
			if v.VM != "none" && v.Level != nil && *v.Level == 0 {
				t.Errorf("a %s guest at level 0", v.VM)
			}
		})
	}
}

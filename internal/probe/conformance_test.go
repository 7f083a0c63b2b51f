//go:build corpora

package probe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/corpus"
)

// The real machine snapshots of virt-what's test suite are read from beside the
// repository (package corpus), never copied in: their licence differs from ours.

type expectation struct {
	Case      string   `json:"case"`
	Arch      string   `json:"arch"`
	VM        []string `json:"vm"`
	Container []string `json:"container"`
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
			f := probeTree(t, filepath.Join(dir, "root"))
			v := f.Virtualization
			vm, container := Str(v.VM), Str(v.Container)
			if want.VM != nil && !slices.Contains(want.VM, vm) {
				t.Errorf("vm = %q, want one of %v (evidence %q, notes %q)", vm, want.VM, v.Evidence, f.Notes)
			}
			if !slices.Contains(want.Container, container) {
				t.Errorf("container = %q, want one of %v (evidence %q)", container, want.Container, v.Evidence)
			}
			if Str(f.Arch) != arch.Normalize(want.Arch) {
				t.Errorf("arch = %q, want %q", Str(f.Arch), want.Arch)
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

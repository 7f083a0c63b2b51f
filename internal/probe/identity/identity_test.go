package identity_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/linux"
)

// TestIdentityByEvidence runs the cases of testdata: machines written from
// public vendor documentation and bug reports (each file names its source), with
// the DMI strings and CPUID signatures of every hypervisor systemd-detect-virt
// names, on each architecture it supports. They cover what the virt-what corpus
// does not: signatures borrowed by another product, KVM against QEMU emulation on
// machines without CPUID, and trees that prove nothing either way.
func TestIdentityByEvidence(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) < 30 {
		t.Fatalf("%d identity cases: %v", len(files), err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(ar.Comment), "Source: ") {
				t.Error("the case does not cite its source")
			}
			dir := t.TempDir()
			var want map[string]any
			for _, f := range ar.Files {
				data := []byte(strings.ReplaceAll(string(f.Data), `\0`, "\x00"))
				if f.Name == "expected.json" {
					if err := json.Unmarshal(data, &want); err != nil {
						t.Fatal(err)
					}
					continue
				}
				write(t, dir, f.Name, string(data))
			}
			f := probeTree(t, dir)
			v := f.Virtualization
			got := map[string]any{"vm": ptrAny(v.VM), "hypervisor": ptrAny(v.Hypervisor), "level": intAny(v.Level), "level_min": intAny(v.LevelMin), "cloud": ptrAny(v.Cloud), "container": ptrAny(v.Container), "platform": ptrAny(v.Platform)}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %v, want %v (evidence %q, notes %q)", k, got[k], w, v.Evidence, f.Notes)
				}
			}
			if _, ok := want["level"]; !ok && v.Level != nil && *v.Level != 0 && !v.LevelExact {
				t.Errorf("a guest claims an exact level %d", *v.Level)
			}
			if v.VM != nil && *v.VM != "none" && (v.LevelMin == nil || *v.LevelMin < 1) {
				t.Errorf("a %s guest with level_min %v", *v.VM, v.LevelMin)
			}
		})
	}
}

func ptrAny(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func intAny(i *int) any {
	if i == nil {
		return nil
	}
	return float64(*i)
}

// probeTree probes a tree as `check --root` does: the identity of a Linux
// machine is decided from the evidence its files give.
func probeTree(t *testing.T, dir string) probe.Facts {
	t.Helper()
	r, err := probe.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, _ := linux.ProbeRoot(r)
	return f
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

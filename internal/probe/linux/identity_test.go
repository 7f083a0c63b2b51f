package linux

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/probe"
)

// probeTree probes a directory as `check --root` does.
func probeTree(t *testing.T, dir string) probe.Facts {
	t.Helper()
	r, err := probe.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := ProbeRoot(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReadsThroughASymlinkOutOfTheTreeAreRefused(t *testing.T) {
	base := t.TempDir()
	secret := filepath.Join(base, "shadow")
	os.WriteFile(secret, []byte("ID=root:$6$hash\n"), 0o600)
	root := filepath.Join(base, "root")
	write(t, root, "proc/sys/kernel/arch", "x86_64\n")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.Symlink(secret, filepath.Join(root, "etc/os-release"))
	os.Symlink("../../shadow", filepath.Join(root, "etc/nestvirt"))
	f := probeTree(t, root)
	if f.OS != nil || strings.Contains(strings.Join(f.Notes, " "), "hash") {
		t.Errorf("read outside the tree: os %+v, notes %q", f.OS, f.Notes)
	}
}

func TestImplausibleIBMZDepthIsUnknown(t *testing.T) {
	dir := t.TempDir()
	var sys strings.Builder
	sys.WriteString("LPAR Number: 1\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&sys, "VM%02d Control Program: KVM/Linux\n", i%100)
	}
	write(t, dir, "proc/sys/kernel/arch", "s390x\n")
	write(t, dir, "proc/sysinfo", sys.String())
	f := probeTree(t, dir)
	v := f.Virtualization
	if v.Level != nil || v.LevelMin == nil || *v.LevelMin != 1 || !strings.Contains(strings.Join(f.Notes, " "), "VM levels; IBM Z describes at most 8") {
		t.Errorf("level %v, level_min %v, notes %q", v.Level, v.LevelMin, f.Notes)
	}
}

func TestEnormousFilesAreRefusedWithANote(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "proc/sys/kernel/arch", "x86_64\n")
	path := filepath.Join(dir, "proc/cpuinfo")
	fh, _ := os.Create(path)
	fh.Truncate(probe.MaxFile + 10) // sparse: as large as a hostile snapshot, without the disk
	fh.Close()
	f := probeTree(t, dir)
	if !strings.Contains(strings.Join(f.Notes, " "), "proc/cpuinfo: file too large") || f.CPUVendor != nil {
		t.Errorf("vendor %v, notes %q", f.CPUVendor, f.Notes)
	}
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

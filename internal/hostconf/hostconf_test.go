package hostconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/machine"
)

const snapshots = "../probe/testdata/snapshots/"

// tree copies a snapshot into a temporary directory the test may change.
func tree(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(snapshots+name+"/root")); err != nil {
		t.Fatal(err)
	}
	return dst
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func probeTree(t *testing.T, root string) probe.Facts {
	t.Helper()
	r, err := probe.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, _ := machine.Probe(r)
	return f
}

func run(t *testing.T, root string, req Request, running ...string) (Plan, []string, error) {
	t.Helper()
	f := probeTree(t, root)
	d, err := fsroot.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	return Run(d, f, req, Tree{d}, running, nil)
}

func read(t *testing.T, root, rel string) string {
	b, _ := os.ReadFile(filepath.Join(root, rel))
	return string(b)
}

func TestEnableEditsTheLineThatSetsItKeepingEverythingElse(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	write(t, root, "etc/modprobe.d/kvm.conf", "# site settings\noptions kvm_intel nested=0 enable_shadow_vmcs=1  # keep this\nblacklist pcspkr\n")
	p, written, err := run(t, root, Request{Enable: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, root, "etc/modprobe.d/kvm.conf"); got != "# site settings\noptions kvm_intel nested=1 enable_shadow_vmcs=1  # keep this\nblacklist pcspkr\n" {
		t.Errorf("file:\n%s", got)
	}
	if read(t, root, "etc/modprobe.d/kvm.conf"+fsroot.BackupSuffix) != "# site settings\noptions kvm_intel nested=0 enable_shadow_vmcs=1  # keep this\nblacklist pcspkr\n" {
		t.Error("no backup of the previous version")
	}
	if !p.Reload || strings.TrimSpace(read(t, root, "sys/module/kvm_intel/parameters/nested")) != "Y" || len(written) != 1 {
		t.Errorf("reload %v, written %v", p.Reload, written)
	}
	// Idempotent.
	p, written, err = run(t, root, Request{Enable: true})
	if err != nil || len(written) != 0 || p.Reload || !p.Live {
		t.Errorf("second enable: %v %v %+v", err, written, p)
	}
}

func TestEnableWritesKvmConfWhenNothingSetsIt(t *testing.T) {
	root := tree(t, "amd-l0-nested")
	_, _, err := run(t, root, Request{Enable: false})
	if err != nil {
		t.Fatal(err)
	}
	got := read(t, root, "etc/modprobe.d/kvm.conf")
	if !strings.Contains(got, "options kvm_amd nested=0\n") || strings.Contains(got, "kvm_intel") {
		t.Errorf("kvm.conf:\n%s", got)
	}
	if strings.TrimSpace(read(t, root, "sys/module/kvm_amd/parameters/nested")) != "0" {
		t.Error("kvm_amd not reloaded with nested=0")
	}
	p, _, err := run(t, root, Request{Enable: true})
	if err != nil || len(p.Warnings) == 0 || !strings.Contains(p.Warnings[0], "live migration") {
		t.Errorf("enabling on AMD must warn about migration: %v %s", err, p.Warnings)
	}
}

func TestAVendorFileIsShadowedNotEdited(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	os.Remove(filepath.Join(root, "etc/modprobe.d/kvm.conf"))
	write(t, root, "usr/lib/modprobe.d/kvm.conf", "options kvm_intel nested=0\n")
	if _, _, err := run(t, root, Request{Enable: true}); err != nil {
		t.Fatal(err)
	}
	if read(t, root, "usr/lib/modprobe.d/kvm.conf") != "options kvm_intel nested=0\n" || read(t, root, "etc/modprobe.d/kvm.conf") != "options kvm_intel nested=1\n" {
		t.Errorf("vendor %q, etc %q", read(t, root, "usr/lib/modprobe.d/kvm.conf"), read(t, root, "etc/modprobe.d/kvm.conf"))
	}
}

func TestConflictingLinesAreReported(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	write(t, root, "etc/modprobe.d/aa-old.conf", "options kvm_intel nested=0\n")
	p, _, err := run(t, root, Request{Enable: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Conflicts) != 1 || !strings.Contains(p.Conflicts[0], "aa-old.conf:1") {
		t.Errorf("conflicts %v", p.Conflicts)
	}
	write(t, root, "proc/cmdline", "ro kvm_intel.nested=0\n")
	if _, _, err := run(t, root, Request{Enable: true}); err == nil || !strings.Contains(err.Error(), "kernel command line") {
		t.Errorf("cmdline: %s", err)
	}
}

func TestRunningVMsBlockReloadAndNow(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	write(t, root, "sys/module/kvm_intel/refcnt", "2\n")
	p, written, err := run(t, root, Request{Enable: true}, "win11", "lab1")
	if err != nil || p.Reload || len(written) != 0 || strings.TrimSpace(read(t, root, "sys/module/kvm_intel/parameters/nested")) != "N" {
		t.Errorf("with VMs running the setting is saved, not applied: %v %+v %s", err, p, written)
	}
	if !strings.Contains(strings.Join(p.Notes, " "), "applies at its next reload or at boot") {
		t.Errorf("notes %v", p.Notes)
	}
	root = tree(t, "intel-l0-nesting-off")
	write(t, root, "sys/module/kvm_intel/refcnt", "2\n")
	before := read(t, root, "etc/modprobe.d/kvm.conf")
	_, _, err = run(t, root, Request{Enable: true, Now: true}, "win11")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "VMs running: win11") || read(t, root, "etc/modprobe.d/kvm.conf") != before {
		t.Errorf("--now with running VMs: %s", err)
	}
}

func TestIBMZHugepages(t *testing.T) {
	root := tree(t, "s390x-hpage")
	before := read(t, root, "etc/modprobe.d/kvm.conf")
	_, _, err := run(t, root, Request{Enable: true})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "--disable-hugepages") || read(t, root, "etc/modprobe.d/kvm.conf") != before {
		t.Fatalf("enable with hpage=1: %s", err)
	}
	if _, _, err := run(t, root, Request{Enable: true, DisableHugepages: true}); err != nil {
		t.Fatal(err)
	}
	f := probeTree(t, root)
	if f.KVM.HpageNext == nil || *f.KVM.HpageNext || f.KVM.NestedNext == nil || !*f.KVM.NestedNext {
		t.Errorf("after: hpage next %v nested next %v", f.KVM.HpageNext, f.KVM.NestedNext)
	}
}

func TestBadConfigurationChangesNothing(t *testing.T) {
	tests := []struct {
		name  string
		setup func(root string)
		want  string
	}{
		{"a directory named .conf", func(r string) { os.MkdirAll(filepath.Join(r, "etc/modprobe.d/dir.conf"), 0o755) }, "not a regular file"},
		{"a symlink to elsewhere", func(r string) {
			os.Remove(filepath.Join(r, "etc/modprobe.d/kvm.conf"))
			os.WriteFile(filepath.Join(r, "elsewhere.conf"), []byte("options kvm_intel nested=0\n"), 0o644)
			os.Symlink(filepath.Join(r, "elsewhere.conf"), filepath.Join(r, "etc/modprobe.d/kvm.conf"))
		}, "symlink"},
		{"an unreadable file", func(r string) {
			os.Remove(filepath.Join(r, "etc/modprobe.d/kvm.conf"))
			os.Symlink("../../nonexistent/target.conf", filepath.Join(r, "etc/modprobe.d/kvm.conf"))
		}, "no such file"},
		{"a link out of the tree", func(r string) {
			os.Remove(filepath.Join(r, "etc/modprobe.d/kvm.conf"))
			os.Symlink("/etc/passwd", filepath.Join(r, "etc/modprobe.d/kvm.conf"))
		}, "leads out of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, "intel-l0-nesting-off")
			tt.setup(root)
			_, _, err := run(t, root, Request{Enable: true})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
			if strings.TrimSpace(read(t, root, "sys/module/kvm_intel/parameters/nested")) != "N" {
				t.Error("the module was reloaded after a refusal")
			}
		})
	}
	// Unbalanced quotes and a 1 MB line: reported, and the edit still targets its own line.
	root := tree(t, "intel-l0-nesting-off")
	write(t, root, "etc/modprobe.d/broken.conf", "options kvm_intel ept=\"1\n"+strings.Repeat("x", 1<<20)+"\n")
	p, _, err := run(t, root, Request{Enable: true})
	if err != nil || !strings.Contains(strings.Join(p.Notes, " "), "unbalanced quotes") || !strings.Contains(strings.Join(p.Notes, " "), "longer than") {
		t.Errorf("%v %s", err, p.Notes)
	}
	if !strings.HasPrefix(read(t, root, "etc/modprobe.d/broken.conf"), "options kvm_intel ept=\"1\n") {
		t.Error("the broken file was changed")
	}
}

// TestWritesStayInTheTree: a snapshot from a stranger, replayed as root, must not
// be a way to write outside it. Before, a symlinked sysfs parameter was written
// through, and a symlinked modprobe.d got kvm.conf and a backup.
func TestWritesStayInTheTree(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "shadow")
	os.WriteFile(secret, []byte("root:$6$hash:19000::\n"), 0o600)
	tests := []struct {
		name  string
		setup func(root string)
	}{
		{"a sysfs parameter linked outside", func(r string) {
			p := filepath.Join(r, "sys/module/kvm_intel/parameters/nested")
			os.Remove(p)
			os.Symlink(secret, p)
		}},
		{"modprobe.d linked outside", func(r string) {
			os.RemoveAll(filepath.Join(r, "etc/modprobe.d"))
			os.Symlink(outside, filepath.Join(r, "etc/modprobe.d"))
		}},
		{"kvm.conf linked outside", func(r string) {
			os.Remove(filepath.Join(r, "etc/modprobe.d/kvm.conf"))
			os.Symlink(secret, filepath.Join(r, "etc/modprobe.d/kvm.conf"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, "intel-l0-nesting-off")
			tt.setup(root)
			run(t, root, Request{Enable: false})
			run(t, root, Request{Enable: true})
			ents, _ := os.ReadDir(outside)
			if b, _ := os.ReadFile(secret); len(ents) != 1 || string(b) != "root:$6$hash:19000::\n" {
				t.Errorf("written outside the tree: %v, %q", ents, b)
			}
		})
	}
}

func TestTheFirstAndTheLastVersionsAreKept(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	orig := read(t, root, "etc/modprobe.d/kvm.conf")
	for _, enable := range []bool{true, false, true} {
		if _, _, err := run(t, root, Request{Enable: enable}); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(t, root, "etc/modprobe.d/kvm.conf"+fsroot.OrigSuffix); got != orig {
		t.Errorf("the pre-nestvirt file is gone: %q, want %q", got, orig)
	}
	if got := read(t, root, "etc/modprobe.d/kvm.conf"+fsroot.BackupSuffix); !strings.Contains(got, "nested=0") {
		t.Errorf("the last backup is not the version before the last change: %q", got)
	}
}

// TestConcurrentAppendsAreNotLost appends lines to kvm.conf from another writer
// while nesting is turned on and off: before, 48 of 200 appends were lost to a
// rename over the file. Every appended line must survive: in the file, or, for a
// writer that opened the file before a rename and wrote after it, in the backup
// (the old file itself), where nestvirt's output points. (The last loss it found
// was planning from one read and checking against another.)
func TestConcurrentAppendsAreNotLost(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	conf := filepath.Join(root, "etc/modprobe.d/kvm.conf")
	const n = 200
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			fmt.Fprintf(f, "# appended %d\n", i)
			f.Close()
		}
	}()
	for k := 0; k < 60; k++ {
		if _, _, err := run(t, root, Request{Enable: k%2 == 0}); err != nil && !errors.Is(err, fsroot.ErrChanged) {
			t.Fatal(err)
		}
	}
	wg.Wait()
	got := read(t, root, "etc/modprobe.d/kvm.conf") + read(t, root, "etc/modprobe.d/kvm.conf"+fsroot.BackupSuffix)
	lost := 0
	for i := 0; i < n; i++ {
		if !strings.Contains(got, fmt.Sprintf("# appended %d\n", i)) {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d concurrent appends lost", lost, n)
		ents, _ := os.ReadDir(filepath.Join(root, "etc/modprobe.d"))
		for i := 0; i < n; i++ {
			line := fmt.Sprintf("# appended %d\n", i)
			if strings.Contains(got, line) {
				continue
			}
			var where []string
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(root, "etc/modprobe.d", e.Name()))
				if strings.Contains(string(b), line) {
					where = append(where, e.Name())
				}
			}
			t.Logf("append %d lost; it is in %v", i, where)
		}
	}
}

// TestTheNextRunRemovesWhatAKilledOneLeft: a run killed between creating its
// temporary file and the rename leaves ".NAME.nestvirt-*" files in modprobe.d
// (28 files, 35 MB after 100 kills); the next run takes the lock, removes
// them, and says so. A file of another program with a similar name is kept.
func TestTheNextRunRemovesWhatAKilledOneLeft(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	left := []string{
		"etc/modprobe.d/.kvm.conf.nestvirt-0a1b2c3d4e5f",
		"etc/modprobe.d/.kvm.conf.nestvirt-bak.nestvirt-ffeeddccbbaa",
		"usr/lib/modprobe.d/.kvm.conf.nestvirt-112233445566",
	}
	for _, l := range left {
		write(t, root, l, strings.Repeat("options kvm_intel nested=1\n", 1000))
	}
	write(t, root, "etc/modprobe.d/kept.conf.nestvirt-orig", "# a backup, kept\n")
	d, _ := fsroot.Open(root)
	if got := Leftovers(d); len(got) != len(left) {
		t.Errorf("Leftovers = %v", got)
	}
	d.Close()
	p, _, err := run(t, root, Request{Enable: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range left {
		if _, err := os.Lstat(filepath.Join(root, l)); err == nil {
			t.Errorf("%s is still there", l)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/modprobe.d/kept.conf.nestvirt-orig")); err != nil {
		t.Error("a backup was removed")
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "removed 3 temporary files an interrupted nestvirt left") {
		t.Errorf("notes: %q", p.Notes)
	}
}

// TestNoMessageClaimsBothOutcomes: where an error says nothing was written, no
// file was, and where a reload failed after the write, it says the file was
// saved and not "nothing written".
func TestNoMessageClaimsBothOutcomes(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	write(t, root, "etc/modprobe.d/kvm.conf", "options kvm_intel nested=0\n")
	// After the write, the tree's reload re-reads modprobe.d: a file that
	// escapes the tree fails it (the symlink-swap race, made certain).
	d, _ := fsroot.Open(root)
	defer d.Close()
	f := probeTree(t, root)
	swap := Tree{d}
	_, written, err := Run(d, f, Request{Enable: true}, escapingReload{swap, root}, nil, nil)
	if err == nil {
		t.Fatal("the reload did not fail")
	}
	msg := err.Error()
	if len(written) == 0 || !strings.Contains(msg, "saved in modprobe.d") || strings.Contains(msg, "nothing written") {
		t.Errorf("written %v: %s", written, msg)
	}
}

// escapingReload plants a symlink out of the tree before the tree's reload.
type escapingReload struct {
	Tree
	root string
}

func (e escapingReload) Reload(module string) error {
	os.Symlink("/etc/hostname", filepath.Join(e.root, "etc/modprobe.d/zz-escape.conf"))
	return e.Tree.Reload(module)
}

// TestARefusalCarriesItsOwnRemedy: enable in a guest whose CPU shows no vmx
// said "see the remedy of nestvirt check", where check printed no remedy; it
// says what to do, where.
func TestARefusalCarriesItsOwnRemedy(t *testing.T) {
	root := tree(t, "kvm-guest-no-vmx")
	_, _, err := run(t, root, Request{Enable: true})
	if err == nil || !errors.Is(err, ErrRefused) || strings.Contains(err.Error(), "see the remedy") || !strings.Contains(err.Error(), "nestvirt expose VM there") || !strings.Contains(err.Error(), "nestvirt enable there") {
		t.Errorf("%v", err)
	}
}

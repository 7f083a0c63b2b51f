package hostconf

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nestvirt/nestvirt/internal/probe"
)

const snapshots = "../probe/testdata/snapshots/"

// tree copies a snapshot into a temporary directory the test may change.
func tree(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := snapshots + name + "/root"
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
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

func run(t *testing.T, root string, req Request, running ...string) (Plan, []string, error) {
	t.Helper()
	f := probe.ProbeRoot(probe.NewRoot(root))
	p, err := PlanNested(root, f, req, Tree{root}, running, nil)
	if err != nil {
		return p, nil, err
	}
	w, err := Apply(root, p, Tree{root})
	return p, w, err
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
	if read(t, root, "etc/modprobe.d/kvm.conf"+BackupSuffix) != "# site settings\noptions kvm_intel nested=0 enable_shadow_vmcs=1  # keep this\nblacklist pcspkr\n" {
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
		t.Errorf("enabling on AMD must warn about migration: %v %v", err, p.Warnings)
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
		t.Errorf("cmdline: %v", err)
	}
}

func TestRunningVMsBlockReloadAndNow(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	write(t, root, "sys/module/kvm_intel/refcnt", "2\n")
	p, written, err := run(t, root, Request{Enable: true}, "win11", "lab1")
	if err != nil || p.Reload || len(written) != 0 || strings.TrimSpace(read(t, root, "sys/module/kvm_intel/parameters/nested")) != "N" {
		t.Errorf("with VMs running the setting is saved, not applied: %v %+v %v", err, p, written)
	}
	if !strings.Contains(strings.Join(p.Notes, " "), "applies at its next reload or at boot") {
		t.Errorf("notes %v", p.Notes)
	}
	root = tree(t, "intel-l0-nesting-off")
	write(t, root, "sys/module/kvm_intel/refcnt", "2\n")
	before := read(t, root, "etc/modprobe.d/kvm.conf")
	_, _, err = run(t, root, Request{Enable: true, Now: true}, "win11")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "VMs running: win11") || read(t, root, "etc/modprobe.d/kvm.conf") != before {
		t.Errorf("--now with running VMs: %v", err)
	}
}

func TestIBMZHugepages(t *testing.T) {
	root := tree(t, "s390x-hpage")
	before := read(t, root, "etc/modprobe.d/kvm.conf")
	_, _, err := run(t, root, Request{Enable: true})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "--disable-hugepages") || read(t, root, "etc/modprobe.d/kvm.conf") != before {
		t.Fatalf("enable with hpage=1: %v", err)
	}
	if _, _, err := run(t, root, Request{Enable: true, DisableHugepages: true}); err != nil {
		t.Fatal(err)
	}
	f := probe.ProbeRoot(probe.NewRoot(root))
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
			os.Symlink("/nonexistent/target.conf", filepath.Join(r, "etc/modprobe.d/kvm.conf"))
		}, "no such file"},
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
		t.Errorf("%v %v", err, p.Notes)
	}
	if !strings.HasPrefix(read(t, root, "etc/modprobe.d/broken.conf"), "options kvm_intel ept=\"1\n") {
		t.Error("the broken file was changed")
	}
}

// The crash test: a child process writes with WriteAtomic and kills itself with
// SIGKILL at one step; the parent checks the file holds the old or the new content.
func TestAWriteKilledAtAnyStepLeavesOldOrNew(t *testing.T) {
	if path := os.Getenv("NESTVIRT_CRASH_FILE"); path != "" {
		at := os.Getenv("NESTVIRT_CRASH_AT")
		crashAt = func(s string) {
			if s == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
		WriteAtomic(path, []byte(strings.Repeat("new content\n", 50000)))
		os.Exit(0)
	}
	oldContent := strings.Repeat("old content\n", 40000)
	newContent := strings.Repeat("new content\n", 50000)
	for _, at := range []string{"created", "written", "synced", "backed-up", "renamed", "dir-synced", "never"} {
		t.Run(at, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kvm.conf")
			os.WriteFile(path, []byte(oldContent), 0o644)
			cmd := exec.Command(os.Args[0], "-test.run", "^TestAWriteKilledAtAnyStepLeavesOldOrNew$")
			cmd.Env = append(os.Environ(), "NESTVIRT_CRASH_FILE="+path, "NESTVIRT_CRASH_AT="+at)
			err := cmd.Run()
			killed := err != nil && strings.Contains(err.Error(), "killed")
			if at != "never" && !killed {
				t.Fatalf("the child was not killed at %s: %v", at, err)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatalf("file gone: %v", rerr)
			}
			if s := string(got); s != oldContent && s != newContent {
				t.Fatalf("killed at %s: the file is a mix (%d bytes)", at, len(got))
			}
			wantNew := at == "renamed" || at == "dir-synced" || at == "never"
			if (string(got) == newContent) != wantNew {
				t.Errorf("killed at %s: new content %v", at, string(got) == newContent)
			}
			if b, err := os.ReadFile(path + BackupSuffix); err == nil && string(b) != oldContent {
				t.Errorf("backup is not the old content")
			}
		})
	}
}

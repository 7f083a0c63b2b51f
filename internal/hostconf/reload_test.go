package hostconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// fakeModprobe puts a modprobe in PATH that logs its arguments and exits as
// script says.
func fakeModprobe(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	body := "#!/bin/sh\necho \"$@\" >> " + log + "\n" + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, "modprobe"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

// TestAReloadThatLeavesTheModuleUnloadedSaysSo: after modprobe -r worked and
// the load failed, the message says KVM is unloaded and how to load it, never
// that the setting "applies at the next load" as if KVM were still there.
func TestAReloadThatLeavesTheModuleUnloadedSaysSo(t *testing.T) {
	log := fakeModprobe(t, `case "$1" in -r) exit 0;; *) echo "modprobe: ERROR: could not insert 'kvm_intel': Invalid argument" >&2; exit 1;; esac`)
	err := System{Timeout: 10 * time.Second}.Reload("kvm_intel")
	if !errors.Is(err, ErrLeftUnloaded) || !strings.Contains(err.Error(), "Invalid argument") {
		t.Fatalf("err = %s", err)
	}
	if b, _ := os.ReadFile(log); string(b) != "-r kvm_intel\nkvm_intel\n" {
		t.Errorf("modprobe ran with %q", b)
	}
	msg := (&ReloadError{Module: "kvm_intel", Err: err}).Error()
	for _, want := range []string{"kvm_intel is NOT loaded now", "modprobe kvm_intel", "no KVM"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "still loaded") {
		t.Errorf("the message says the module is loaded: %s", msg)
	}
	// An unload that fails leaves the module as it was, and says that.
	fakeModprobe(t, `echo "modprobe: FATAL: Module kvm_intel is in use." >&2; exit 1`)
	err = System{Timeout: 10 * time.Second}.Reload("kvm_intel")
	if errors.Is(err, ErrLeftUnloaded) || err == nil {
		t.Fatalf("a failed unload: %s", err)
	}
	if msg := (&ReloadError{Module: "kvm_intel", Err: err}).Error(); !strings.Contains(msg, "still loaded with its old setting") || !strings.Contains(msg, "in use") {
		t.Errorf("a failed unload: %s", msg)
	}
}

// TestATreeWhoseParametersLeaveItIsNotReportedApplied: a snapshot tree whose
// sys/module/kvm_intel/parameters is a symlink out of it cannot take the
// setting: the reload fails, nothing is reported applied.
func TestATreeWhoseParametersLeaveItIsNotReportedApplied(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "nested"), []byte("N\n"), 0o644)
	params := filepath.Join(root, "sys/module/kvm_intel/parameters")
	os.RemoveAll(params)
	if err := os.Symlink(outside, params); err != nil {
		t.Fatal(err)
	}
	f := probeTree(t, root)
	d, err := fsroot.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, _, err := Run(d, f, Request{Enable: true}, Tree{d}, nil, nil)
	if err == nil && p.Reload {
		t.Fatalf("reported reloaded, with the parameters outside the tree")
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "nested")); string(b) != "N\n" {
		t.Errorf("the file outside the tree changed: %q", b)
	}
}

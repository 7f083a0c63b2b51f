package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-r", "../probe/testdata/snapshots/"+name+"/root", dst).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	return dst
}

func TestEnableAndDisableOnSnapshotTrees(t *testing.T) {
	root := copyTree(t, "intel-l0-nesting-off")
	out, _, code := run(t, "", "enable", "--root", root, "--dry-run")
	if code != ExitOK || !strings.Contains(out, "# then: modprobe -r kvm_intel") {
		t.Errorf("dry run: %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(root + "/sys/module/kvm_intel/parameters/nested"); strings.TrimSpace(string(b)) != "N" {
		t.Error("dry run changed the tree")
	}
	out, _, code = run(t, "", "enable", "--root", root)
	if code != ExitOK || !strings.Contains(out, "reloaded kvm_intel: nesting is on now") {
		t.Errorf("enable: %d %s", code, out)
	}
	if out, _, code := run(t, "", "check", "-q", "--root", root); code != ExitOK || out != "" {
		t.Errorf("check after enable: %d %q", code, out)
	}

	amd := copyTree(t, "amd-l0-nested")
	out, _, code = run(t, "", "disable", "--root", amd)
	if code != ExitOK || !strings.Contains(out, "wrote /etc/modprobe.d/kvm.conf") {
		t.Errorf("disable: %d %s", code, out)
	}
	if out, _, _ := run(t, "", "check", "--format", "json", "--root", amd); strings.Contains(out, "host-amd-migration") {
		t.Error("the AMD migration finding survived disable")
	}
	_, stderr, _ := run(t, "", "enable", "--root", amd)
	if !strings.Contains(stderr, "live migration") {
		t.Errorf("enabling on AMD must warn: %s", stderr)
	}

	z := copyTree(t, "s390x-hpage")
	if _, stderr, code := run(t, "", "enable", "--root", z); code != ExitInput || !strings.Contains(stderr, "--disable-hugepages") {
		t.Errorf("IBM Z with huge pages: %d %s", code, stderr)
	}
	if _, _, code := run(t, "", "enable", "--root", z, "--disable-hugepages"); code != ExitOK {
		t.Errorf("--disable-hugepages: %d", code)
	}
	if _, stderr, code := run(t, "", "enable", "--root", copyTree(t, "pvm")); code != ExitInput || !strings.Contains(stderr, "PVM") {
		t.Errorf("PVM: %d %s", code, stderr)
	}
}

func TestGuardInstallStatusUninstall(t *testing.T) {
	hooks := t.TempDir()
	out, _, code := run(t, "", "guard", "install", "--hooks-dir", hooks, "--mode", "warn")
	if code != ExitOK || !strings.Contains(out, "restart libvirtd") {
		t.Fatalf("install: %d %s", code, out)
	}
	st, err := os.Stat(filepath.Join(hooks, "qemu.d", "nestvirt-guard"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("hook file: %v %v", st, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(hooks, "qemu.d")); len(ents) != 1 {
		t.Errorf("more than the hook in qemu.d (libvirt would run a backup too): %v", ents)
	}
	out, _, _ = run(t, "", "guard", "status", "--hooks-dir", hooks, "--root", amdRoot)
	if !strings.Contains(out, "--mode warn") || !strings.Contains(out, "an incoming migration would be refused (amd-migration)") {
		t.Errorf("status:\n%s", out)
	}
	if _, stderr, code := run(t, "", "guard", "install", "--hooks-dir", hooks, "--mode", "block"); code != ExitInput || !strings.Contains(stderr, "--mode") {
		t.Errorf("bad mode: %d %s", code, stderr)
	}
	if out, _, code := run(t, "", "guard", "uninstall", "--hooks-dir", hooks); code != ExitOK || !strings.Contains(out, "removed") {
		t.Errorf("uninstall: %d %s", code, out)
	}
	os.WriteFile(filepath.Join(hooks, "qemu.d", "nestvirt-guard"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	if _, stderr, code := run(t, "", "guard", "install", "--hooks-dir", hooks); code != ExitInput || !strings.Contains(stderr, "not installed by nestvirt") {
		t.Errorf("someone else's hook: %d %s", code, stderr)
	}
	if _, stderr, code := run(t, "", "guard", "hook", "--", "x", "prepare"); code != ExitInput || !strings.Contains(stderr, "accepts 4 arg") {
		t.Errorf("hook usage: %d %s", code, stderr)
	}
}

// check needs no root: what an unprivileged user cannot read is a note, and the exit
// code is the verdict's, never "bad input".
func TestCheckWorksWithoutRoot(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nestvirt")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/nestvirt").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	os.Chmod(filepath.Dir(bin), 0o755)
	args := []string{bin, "check", "--format", "json"}
	if os.Geteuid() == 0 {
		args = append([]string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v", err)
	}
	if code == ExitInput {
		t.Fatalf("check as an unprivileged user exited %d: %s", code, out)
	}
	if !strings.Contains(string(out), `"verdict"`) || !strings.Contains(string(out), `"notes"`) {
		t.Errorf("output: %s", out)
	}
	if os.Geteuid() == 0 && !strings.Contains(string(out), "permission denied") {
		t.Errorf("as nobody, some file should be unreadable and noted: %s", out)
	}
}

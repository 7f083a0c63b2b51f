package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-r", snapshots+name+"/root", dst).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	return dst
}

func TestEnableAndDisableOnSnapshotTrees(t *testing.T) {
	root := copyTree(t, "intel-l0-nesting-off")
	out, stderr, code := nv(t, "", "enable", "--root", root, "--dry-run")
	if code != ExitOK || !strings.Contains(out, "# then: modprobe -r kvm_intel") {
		t.Errorf("dry run: %d\n%s", code, out)
	}
	if !strings.Contains(stderr, "--root: module loading is simulated") {
		t.Errorf("--root must say that running VMs cannot be asked: %s", stderr)
	}
	if b, _ := os.ReadFile(root + "/sys/module/kvm_intel/parameters/nested"); strings.TrimSpace(string(b)) != "N" {
		t.Error("dry run changed the tree")
	}
	out, _, code = nv(t, "", "enable", "--root", root)
	if code != ExitOK || !strings.Contains(out, "reloaded kvm_intel: nesting is on now") {
		t.Errorf("enable: %d %s", code, out)
	}
	if out, _, code := nv(t, "", "check", "-q", "--root", root); code != ExitOK || out != "" {
		t.Errorf("check after enable: %d %q", code, out)
	}
	if out, _, code := nv(t, "", "enable", "--root", root); code != ExitOK || !strings.Contains(out, "nothing to change") {
		t.Errorf("a second enable: %d %s", code, out)
	}
	out, _, code = nv(t, "", "disable", "--root", root, "--dry-run")
	if code != ExitOK || !strings.Contains(out, "--- a/etc/modprobe.d/kvm.conf\n+++ b/etc/modprobe.d/kvm.conf\n") || !strings.Contains(out, "+options kvm_intel nested=0") {
		t.Errorf("disable --dry-run: %d\n%s", code, out)
	}
	out, _, code = nv(t, "", "disable", "--root", root)
	kvmConf := root + "/etc/modprobe.d/kvm.conf"
	if code != ExitOK || !strings.Contains(out, "wrote "+kvmConf+" (previous version: "+kvmConf+".nestvirt-bak; before nestvirt first changed it: "+kvmConf+".nestvirt-orig)") {
		t.Errorf("disable: %d %s", code, out)
	}

	amd := copyTree(t, "amd-l0-nested")
	out, _, code = nv(t, "", "disable", "--root", amd)
	if code != ExitOK || !strings.Contains(out, "created "+amd+"/etc/modprobe.d/kvm.conf (it did not exist, so there is no previous version)") {
		t.Errorf("disable: %d %s", code, out)
	}
	if out, _, _ := nv(t, "", "check", "--format", "json", "--root", amd, "--migrates", "yes"); strings.Contains(out, `"host-amd-migration"`) {
		t.Error("the AMD migration finding survived disable")
	}
	_, stderr, _ = nv(t, "", "enable", "--root", amd)
	if !strings.Contains(stderr, "live migration") {
		t.Errorf("enabling on AMD must warn: %s", stderr)
	}

	z := copyTree(t, "s390x-hpage")
	if _, stderr, code := nv(t, "", "enable", "--root", z); code != ExitFindings || !strings.Contains(stderr, "--disable-hugepages") {
		t.Errorf("IBM Z with huge pages: %d %s", code, stderr)
	}
	if _, _, code := nv(t, "", "enable", "--root", z, "--disable-hugepages"); code != ExitOK {
		t.Errorf("--disable-hugepages: %d", code)
	}
	if _, stderr, code := nv(t, "", "enable", "--root", copyTree(t, "pvm")); code != ExitFindings || !strings.Contains(stderr, "PVM") {
		t.Errorf("PVM: %d %s", code, stderr)
	}
	if _, stderr, code := nv(t, "", "enable", "--root", "no/such/dir"); code != ExitInput {
		t.Errorf("a bad --root: %d %s", code, stderr)
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// rootBinary builds nestvirt once into a directory only root can write, as the
// guard requires of what it runs.
func rootBinary(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test installs the guard and must run as root (as CI does)")
	}
	binOnce.Do(func() {
		var dir string
		if dir, binErr = os.MkdirTemp("/var/lib", "nestvirt-cli-test-"); binErr != nil {
			return
		}
		os.Chmod(dir, 0o755)
		binPath = filepath.Join(dir, "nestvirt")
		cmd := exec.Command("go", "build", "-o", binPath, "../../cmd/nestvirt")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("build: %v %s", binErr, binPath)
	}
	t.Cleanup(func() {}) // the binary is removed by TestMain
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func TestGuardInstallStatusUninstall(t *testing.T) {
	hooks := t.TempDir()
	amdRoot := snapshots + "amd-l0-nested/root"
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks); code != ExitFindings || !strings.Contains(stderr, "temporary or build-cache") {
		t.Errorf("installing the test binary (a build-cache file) must be refused: %d %s", code, stderr)
	}
	bin := rootBinary(t)
	out, _, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--mode", "warn", "--binary", bin)
	if code != ExitOK || !strings.Contains(out, "restart libvirtd") || !strings.Contains(out, "the embedded policy") {
		t.Fatalf("install: %d %s", code, out)
	}
	st, err := os.Stat(filepath.Join(hooks, "qemu.d", "nestvirt-guard"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("hook file: %v %v", st, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(hooks, "qemu.d")); len(ents) != 1 {
		t.Errorf("more than the hook in qemu.d (libvirt would run a backup too): %v", ents)
	}
	out, _, _ = nv(t, "", "guard", "status", "--hooks-dir", hooks, "--root", amdRoot)
	if !strings.Contains(out, "mode warn") || !strings.Contains(out, "an incoming migration would be refused (amd-migration)") {
		t.Errorf("status:\n%s", out)
	}
	// A policy given at install is the one the hook uses, and status says so.
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	data, _ := os.ReadFile("../../policies/rhel-10.yaml")
	os.WriteFile(pol, data, 0o644)
	if _, _, code := nv(t, "", "--policy", pol, "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitOK {
		t.Fatalf("install with a policy: %d", code)
	}
	if script, _ := os.ReadFile(filepath.Join(hooks, "qemu.d", "nestvirt-guard")); !strings.Contains(string(script), "--policy '"+pol+"'") {
		t.Errorf("the hook does not use the policy it was installed with:\n%s", script)
	}
	// The binary gone: status says what is broken, and exits 3.
	os.Remove(pol)
	out, _, code = nv(t, "", "guard", "status", "--hooks-dir", hooks, "--root", amdRoot)
	if code != ExitDependency || !strings.Contains(out, "problems:") || !strings.Contains(out, "the policy the hook uses") {
		t.Errorf("status of a broken guard: %d\n%s", code, out)
	}
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--mode", "block", "--binary", bin); code != ExitInput || !strings.Contains(stderr, "--mode") {
		t.Errorf("bad mode: %d %s", code, stderr)
	}
	if out, _, code := nv(t, "", "guard", "uninstall", "--hooks-dir", hooks); code != ExitOK || !strings.Contains(out, "removed") {
		t.Errorf("uninstall: %d %s", code, out)
	}
	if out, _, code := nv(t, "", "guard", "uninstall", "--hooks-dir", hooks); code != ExitOK || !strings.Contains(out, "nothing to do") {
		t.Errorf("a second uninstall: %d %s", code, out)
	}
	os.WriteFile(filepath.Join(hooks, "qemu.d", "nestvirt-guard"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitFindings || !strings.Contains(stderr, "not installed by nestvirt") {
		t.Errorf("someone else's hook: %d %s", code, stderr)
	}
	if _, stderr, code := nv(t, "", "guard", "hook", "--", "x", "prepare"); code != ExitInput || !strings.Contains(stderr, "accepts 4 arg") {
		t.Errorf("hook usage: %d %s", code, stderr)
	}
}

// check needs no root: what an unprivileged user cannot read is a note, and the exit
// code is the verdict's, never "bad input".
func TestCheckWorksWithoutRoot(t *testing.T) {
	bin := rootBinary(t)
	args := []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", bin, "check", "--format", "json"}
	out, err := exec.Command(args[0], args[1:]...).Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v", err)
	}
	if code == ExitInput || code == ExitDependency {
		t.Fatalf("check as an unprivileged user exited %d: %s", code, out)
	}
	if !strings.Contains(string(out), `"verdict"`) || !strings.Contains(string(out), `"notes"`) || !strings.Contains(string(out), "permission denied") {
		t.Errorf("as nobody, some file should be unreadable and noted: %s", out)
	}
}

// TestEnableUnderARootNeverReadsOrWritesOutsideIt: a kvm.conf planted as a
// symlink to a file outside --root is refused, in a dry run and for real, and
// neither the outside file's content nor the file itself changes.
func TestEnableUnderARootNeverReadsOrWritesOutsideIt(t *testing.T) {
	root := copyTree(t, "intel-l0-nesting-off")
	outside := filepath.Join(t.TempDir(), "secret.conf")
	const secret = "options kvm_intel nested=0 # SECRET-OUTSIDE-THE-ROOT\n"
	if err := os.WriteFile(outside, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(root, "etc/modprobe.d/kvm.conf")
	os.Remove(conf)
	if err := os.Symlink(outside, conf); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"enable", "--root", root, "--dry-run"}, {"enable", "--root", root}, {"disable", "--root", root}} {
		out, stderr, code := nv(t, "", args...)
		if strings.Contains(out+stderr, "SECRET-OUTSIDE") {
			t.Errorf("%v showed the outside file:\n%s%s", args, out, stderr)
		}
		if code != ExitInput || !strings.Contains(stderr, "kvm.conf: a symlink or \"..\" leads out of "+root) {
			t.Errorf("%v: exit %d, want %d naming the file: %s", args, code, ExitInput, stderr)
		}
		if b, _ := os.ReadFile(outside); string(b) != secret {
			t.Fatalf("%v changed the file outside the root: %q", args, b)
		}
		if fi, err := os.Lstat(conf); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%v replaced the planted symlink: %v", args, err)
		}
	}
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies a snapshot's tree where the test may change it.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(dst, os.DirFS(snapshots+name+"/root")); err != nil {
		t.Fatal(err)
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
	if out, _, code := nv(t, "", "check", "-q", "--root", root); code != ExitOK || out != "This machine: supported\n" {
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
	// PVM built in, no /dev/kvm, no svm: the first real reason is the CPU's.
	if _, stderr, code := nv(t, "", "enable", "--root", copyTree(t, "pvm-no-dev-kvm")); code != ExitFindings || !strings.Contains(stderr, "this CPU shows no svm and there is no /dev/kvm") || strings.HasPrefix(stderr, "nestvirt: error: refused: KVM on this machine is PVM") {
		t.Errorf("PVM without /dev/kvm: %d %s", code, stderr)
	}
	if _, stderr, code := nv(t, "", "enable", "--root", "no/such/dir"); code != ExitInput {
		t.Errorf("a bad --root: %d %s", code, stderr)
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

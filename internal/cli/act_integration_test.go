//go:build integration

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// These need root: the guard runs only a binary root owns, and check is run
// as another user.

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
	pol := filepath.Join(filepath.Dir(bin), "policy.yaml") // root's alone, and not temporary, as install requires
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
		t.Fatalf("%s", err)
	}
	if code == ExitInput || code == ExitDependency {
		t.Fatalf("check as an unprivileged user exited %d: %s", code, out)
	}
	if !strings.Contains(string(out), `"verdict"`) || !strings.Contains(string(out), `"notes"`) || !strings.Contains(string(out), "permission denied") {
		t.Errorf("as nobody, some file should be unreadable and noted: %s", out)
	}
}

// TestOnlyRootsFilesDriveTheGuard: as root, a policy, a facts tree or a
// host.yaml another user owns (or could write) decides nothing: install
// refuses them, the hook does not judge with them, status reports them; a
// binary that does not run is refused at install, and a hook edited by hand is
// reported.
func TestOnlyRootsFilesDriveTheGuard(t *testing.T) {
	bin := rootBinary(t)
	hooks := t.TempDir()
	dir, err := os.MkdirTemp("/var/lib", "nestvirt-trust-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	pol := filepath.Join(dir, "policy.yaml")
	data, _ := os.ReadFile("../../policies/rhel-10.yaml")
	os.WriteFile(pol, data, 0o644)
	if _, stderr, code := nv(t, "", "--policy", pol, "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitOK {
		t.Fatalf("a root-owned policy: %d %s", code, stderr)
	}
	os.Chown(pol, 65534, 65534)
	if _, stderr, code := nv(t, "", "--policy", pol, "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitFindings || !strings.Contains(stderr, "belongs to uid 65534, not root") {
		t.Errorf("a policy nobody owns: %d %s", code, stderr)
	}
	if out, _, code := nv(t, "", "guard", "status", "--hooks-dir", hooks); code != ExitDependency || !strings.Contains(out, "the policy the hook uses: "+pol+" belongs to uid 65534") {
		t.Errorf("status with a policy nobody owns: %d\n%s", code, out)
	}
	_, stderr, code := nv(t, "<domain><name>g</name></domain>", "--policy", pol, "guard", "hook", "--fail-closed", "--", "g", "prepare", "begin", "-")
	if code != ExitFindings || !strings.Contains(stderr, "cannot trust") {
		t.Errorf("the hook judged with a policy nobody owns: %d %s", code, stderr)
	}
	os.Chown(pol, 0, 0)
	os.Chmod(pol, 0o666)
	if _, stderr, code := nv(t, "", "--policy", pol, "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitFindings || !strings.Contains(stderr, "writable by its group or others") {
		t.Errorf("a world-writable policy: %d %s", code, stderr)
	}

	// A facts tree with one file another user owns.
	tree := filepath.Join(dir, "tree")
	os.CopyFS(tree, os.DirFS(snapshots+"amd-l0-nested/root"))
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", bin, "--root", tree); code != ExitOK {
		t.Fatalf("a root-owned tree: %d %s", code, stderr)
	}
	os.Chown(filepath.Join(tree, "etc/os-release"), 65534, 65534)
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", bin, "--root", tree); code != ExitFindings || !strings.Contains(stderr, "os-release belongs to uid 65534") {
		t.Errorf("a tree with a file nobody owns: %d %s", code, stderr)
	}

	// A host.yaml another user owns states nothing to root.
	os.Chown(filepath.Join(tree, "etc/os-release"), 0, 0)
	os.MkdirAll(filepath.Join(tree, "etc/nestvirt"), 0o755)
	hy := filepath.Join(tree, "etc/nestvirt/host.yaml")
	os.WriteFile(hy, []byte("migration: true\n"), 0o644)
	os.Chown(hy, 65534, 65534)
	// It is ignored with a note, as documented: check goes on (it exited 2
	// with "host": null), and so does every other command.
	out, _, code := nv(t, "", "check", "--host-root", tree, "--format", "json", "--fail-on", "never")
	if code != ExitOK || !strings.Contains(out, "belongs to uid 65534, not root: its statements are ignored") || strings.Contains(out, `"migration": true`) || strings.Contains(out, `"host": null`) {
		t.Errorf("root used a host.yaml nobody owns, or stopped on it: exit %d\n%.3000s", code, out)
	}
	os.Chown(hy, 0, 0)
	os.Chmod(hy, 0o664)
	out, _, code = nv(t, "", "check", "--host-root", tree, "--format", "json", "--fail-on", "never")
	if code != ExitOK || !strings.Contains(out, "writable by its group or others (mode -rw-rw-r--): its statements are ignored") || strings.Contains(out, `"migration": true`) {
		t.Errorf("a host.yaml of mode 0664: exit %d\n%.3000s", code, out)
	}
	os.Chmod(hy, 0o644)

	// A binary that does not run (truncated), and a hook edited by hand.
	broken := filepath.Join(dir, "nestvirt-truncated")
	whole, _ := os.ReadFile(bin)
	os.WriteFile(broken, whole[:len(whole)/3], 0o755)
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", broken); code != ExitFindings || !strings.Contains(stderr, "does not run") {
		t.Errorf("a truncated binary: %d %s", code, stderr)
	}
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitOK {
		t.Fatalf("install: %d %s", code, stderr)
	}
	hook := filepath.Join(hooks, "qemu.d", "nestvirt-guard")
	script, _ := os.ReadFile(hook)
	os.WriteFile(hook, []byte(strings.Replace(string(script), "#!/bin/sh\n", "#!/bin/sh\nexit 0\n", 1)), 0o755)
	if out, _, code := nv(t, "", "guard", "status", "--hooks-dir", hooks); code != ExitDependency || !strings.Contains(out, "not what nestvirt guard install writes") {
		t.Errorf("status of an edited hook: %d\n%s", code, out)
	}
}

// TestEveryPathRootInstallsIntoIsRootsAlone: guard install into a qemu.d owned
// by nobody or writable by others (0777, 0775, 1777) exited 0, facts install
// did the same into such a facts.d, and guard status did not report a hooks
// directory, qemu.d or hook nobody owns. Each is refused or reported, naming
// the path; a binary others could replace is not run by the hook (status says
// so, and the script, run as libvirt runs it, allows without running it).
func TestEveryPathRootInstallsIntoIsRootsAlone(t *testing.T) {
	bin := rootBinary(t)
	qemuD := func(h string) string { return filepath.Join(h, "qemu.d") }
	for name, spoil := range map[string]func(hooks string) (path string){
		"qemu.d owned by nobody": func(h string) string { os.Chown(qemuD(h), 65534, 65534); return qemuD(h) },
		"qemu.d mode 0777":       func(h string) string { os.Chmod(qemuD(h), 0o777); return qemuD(h) },
		"qemu.d mode 0775":       func(h string) string { os.Chmod(qemuD(h), 0o775); return qemuD(h) },
		"qemu.d mode 1777":       func(h string) string { os.Chmod(qemuD(h), os.ModeSticky|0o777); return qemuD(h) },
		"hooks owned by nobody":  func(h string) string { os.Chown(h, 65534, 65534); return h },
		"the hook owned by nobody": func(h string) string {
			p := filepath.Join(qemuD(h), "nestvirt-guard")
			os.Chown(p, 65534, 65534)
			return p
		},
	} {
		t.Run(name, func(t *testing.T) {
			hooks := filepath.Join(t.TempDir(), "hooks")
			os.MkdirAll(qemuD(hooks), 0o755)
			if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitOK {
				t.Fatalf("install: %d %s", code, stderr)
			}
			path := spoil(hooks)
			out, _, code := nv(t, "", "guard", "status", "--hooks-dir", hooks)
			if code != ExitDependency || !strings.Contains(out, "  - "+path+" ") {
				t.Errorf("status: exit %d\n%s", code, out)
			}
			if !strings.HasSuffix(path, "nestvirt-guard") {
				os.Remove(filepath.Join(qemuD(hooks), "nestvirt-guard"))
				if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitFindings || !strings.Contains(stderr, path+" ") {
					t.Errorf("install: exit %d %s", code, stderr)
				}
				if _, err := os.Stat(filepath.Join(qemuD(hooks), "nestvirt-guard")); err == nil {
					t.Error("installed anyway")
				}
			}
		})
	}

	// A binary anyone may replace: status says the hook does not run it, and
	// the hook, run as libvirt runs it, allows without running it.
	dir, _ := os.MkdirTemp("/var/lib", "nestvirt-open-bin-")
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	open := filepath.Join(dir, "nestvirt")
	whole, _ := os.ReadFile(bin)
	os.WriteFile(open, whole, 0o755)
	// The facts tree the hook reads is root's and not in a temporary directory.
	amd := filepath.Join(dir, "amd-l0-nested")
	os.CopyFS(amd, os.DirFS(snapshots+"amd-l0-nested/root"))
	hooks := filepath.Join(t.TempDir(), "hooks")
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", open, "--root", amd); code != ExitOK {
		t.Fatalf("install: %d %s", code, stderr)
	}
	os.Chmod(open, 0o777)
	out, _, code := nv(t, "", "guard", "status", "--hooks-dir", hooks)
	if code != ExitDependency || !strings.Contains(out, "writable by its group or others") || !strings.Contains(out, "the hook does not run it; every VM start is judged by nothing (allowed)") {
		t.Errorf("status with a binary of mode 0777: exit %d\n%s", code, out)
	}
	hook := exec.Command("sh", filepath.Join(qemuD(hooks), "nestvirt-guard"), "g", "migrate", "begin", "-")
	hook.Stdin = strings.NewReader("<domain type='kvm'><name>g</name><memory>65536</memory><os><type>hvm</type></os></domain>")
	msg, err := hook.CombinedOutput()
	if err != nil || !strings.Contains(string(msg), "is not root's alone") || strings.Contains(string(msg), "refuses") {
		t.Errorf("the hook with a binary of mode 0777: %v %s", err, msg)
	}
	// The same binary root's alone again: the hook runs it, and it refuses.
	os.Chmod(open, 0o755)
	hook = exec.Command("sh", filepath.Join(qemuD(hooks), "nestvirt-guard"), "g", "migrate", "begin", "-")
	hook.Stdin = strings.NewReader("<domain type='kvm'><name>g</name><memory>65536</memory><os><type>hvm</type></os></domain>")
	if msg, err := hook.CombinedOutput(); err == nil || !strings.Contains(string(msg), "refuses") {
		t.Errorf("the hook with root's binary: %v %s", err, msg)
	}

	// facts install into a facts.d root alone cannot be sure of.
	for name, spoil := range map[string]func(string){
		"nobody's": func(d string) { os.Chown(d, 65534, 65534) },
		"0777":     func(d string) { os.Chmod(d, 0o777) },
		"0775":     func(d string) { os.Chmod(d, 0o775) },
		"1777":     func(d string) { os.Chmod(d, os.ModeSticky|0o777) },
	} {
		facts := filepath.Join(t.TempDir(), "facts.d")
		os.Mkdir(facts, 0o755)
		spoil(facts)
		if _, stderr, code := nv(t, "", "facts", "install", "--fact-path", facts, "--binary", bin); code != ExitFindings || !strings.Contains(stderr, facts+" ") {
			t.Errorf("facts install into a %s facts.d: exit %d %s", name, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(facts, "nestvirt.fact")); err == nil {
			t.Errorf("a %s facts.d: installed anyway", name)
		}
	}
}

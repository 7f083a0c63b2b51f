//go:build integration

package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// promtool checks text exposition as Prometheus' own tool does (Debian's
// prometheus package; scripts/test.sh installs it).
func promtool(t *testing.T, metrics string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed (apt-get install prometheus; scripts/test.sh does): %s", err)
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, metrics)
	}
}

// TestPromtoolAcceptsTheMetricsOfEverySnapshot: the textfile of every written
// machine, and of a check that failed, passes promtool check metrics.
func TestPromtoolAcceptsTheMetricsOfEverySnapshot(t *testing.T) {
	dirs, _ := filepath.Glob(snapshots + "*")
	if len(dirs) < 10 {
		t.Fatalf("%d snapshots", len(dirs))
	}
	for _, d := range dirs {
		out, stderr, code := nvAt(t, "check", "--format", "prometheus", "--fail-on", "never", "--root", d+"/root")
		if code != ExitOK {
			t.Errorf("%s: exit %d %s", d, code, stderr)
		}
		promtool(t, out)
	}
	out, _, _ := nvAt(t, "check", "--format", "prometheus", "--root", t.TempDir())
	if !strings.Contains(out, "nestvirt_check_success 0") {
		t.Errorf("a failed check:\n%s", out)
	}
	promtool(t, out)
}

// TestOutputIsAtomicAndKeepsThePreviousFileOnFailure: --output replaces the file
// in one rename; a full disk leaves the previous file whole, with exit 3.
func TestOutputIsAtomicAndKeepsThePreviousFileOnFailure(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs and must run as root (as CI does)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	prom := filepath.Join(dir, "nestvirt.prom")
	if _, stderr, code := nvAt(t, "check", "--format", "prometheus", "--fail-on", "never", "--root", snapshots+"intel-l0-ready/root", "--output", prom); code != ExitOK {
		t.Fatalf("exit %d %s", code, stderr)
	}
	before, _ := os.ReadFile(prom)
	if !strings.Contains(string(before), "nestvirt_check_success 1") {
		t.Fatalf("written:\n%s", before)
	}
	// Fill the file system, then write again.
	filler, _ := os.Create(filepath.Join(dir, "filler"))
	filler.Write(make([]byte, 64<<10))
	filler.Close()
	_, stderr, code := nvAt(t, "check", "--format", "prometheus", "--fail-on", "never", "--root", snapshots+"amd-l0-nested/root", "--output", prom)
	if code != ExitDependency || !strings.Contains(stderr, "the previous file, if any, is unchanged") {
		t.Errorf("a full disk: exit %d %s", code, stderr)
	}
	if after, _ := os.ReadFile(prom); !bytes.Equal(after, before) {
		t.Errorf("the previous file changed:\n%s", after)
	}
	if temps, _ := filepath.Glob(filepath.Join(dir, ".nestvirt.prom.*")); len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
	if _, stderr, code := nvAt(t, "check", "--format", "json", "--output", filepath.Join(dir, "no/such/dir/x.json")); code != ExitInput {
		t.Errorf("a missing directory: %d %s", code, stderr)
	}
}

// TestHostRootReadsTheNodeAsAContainerSeesIt: with this machine's / bind-mounted
// elsewhere (as a DaemonSet mounts its node at /host), --host-root gives the
// facts a check of / gives: files through the mount, CPUID from this CPU.
func TestHostRootReadsTheNodeAsAContainerSeesIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test bind-mounts / and must run as root (as CI does)")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "--rbind", "-o", "ro", "/", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	// Cleanups run last first: the mount goes before its directory is removed.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-R", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v %s", err, out)
		}
	})
	strip := func(js string) string {
		var d map[string]any
		if err := json.Unmarshal([]byte(js), &d); err != nil {
			t.Fatalf("%v\n%s", err, js)
		}
		delete(d["host"].(map[string]any), "notes")
		// What may be done differs by design: nothing is changed through --host-root
		// (checked below).
		delete(d, "actions")
		// How it was read differs by nature; when, by the clock.
		delete(d, "origin")
		delete(d, "checked_at")
		b, _ := json.Marshal(d)
		return string(b)
	}
	if out, _, _ := nv(t, "", "check", "--format", "json", "--fail-on", "never", "--host-root", mnt); !strings.Contains(out, `"kind": "host-root"`) {
		t.Errorf("--host-root's origin:\n%s", out)
	}
	live, _, _ := nv(t, "", "check", "--format", "json", "--fail-on", "never")
	mounted, stderr, code := nv(t, "", "check", "--format", "json", "--fail-on", "never", "--host-root", mnt)
	if code != ExitOK {
		t.Fatalf("exit %d %s", code, stderr)
	}
	if a, b := strip(live), strip(mounted); a != b {
		t.Errorf("/ and --host-root differ:\n%s\n%s", a, b)
	}
	var doc struct {
		Actions []struct {
			ID       string
			Possible *bool
			Why      string
		}
	}
	if err := json.Unmarshal([]byte(mounted), &doc); err != nil || len(doc.Actions) == 0 {
		t.Fatalf("--host-root's actions: %v\n%s", err, mounted)
	}
	for _, a := range doc.Actions {
		if a.Possible == nil || *a.Possible || !strings.Contains(a.Why, "run nestvirt on the node itself") {
			t.Errorf("--host-root offers %s: possible %v, %q", a.ID, a.Possible, a.Why)
		}
	}
	if _, stderr, code := nv(t, "", "check", "--host-root", mnt, "--root", snapshots+"pvm/root"); code != ExitInput || !strings.Contains(stderr, "give one of them") {
		t.Errorf("both: %d %s", code, stderr)
	}
}

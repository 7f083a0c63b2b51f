package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestCheckToDevFull: the device that fails every write, as a user meets it.
func TestCheckToDevFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("/dev/full: %s", err) // every Linux has it
	}
	defer full.Close()
	var errb strings.Builder
	code := Main([]string{"check", "--root", snapshots + "intel-l0-ready/root"}, strings.NewReader(""), full, &errb)
	if code != ExitDependency || !strings.Contains(errb.String(), "writing to standard output") {
		t.Errorf("check > /dev/full: exit %d, %q", code, errb.String())
	}
}

// TestOutputStreamsAndNeverReadsTheOldFile: --output replaces a file of any
// size (a sparse 100 MiB one here) without reading it, honours the umask for a
// new file, keeps an existing file's mode, and reports a directory it cannot
// write in as a failed dependency (3), a missing one as bad input (2).
func TestOutputStreamsAndNeverReadsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "plan.json")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Chmod(out, 0o640)
	if _, stderr, code := nv(t, "", "plan", "--format", "json", "--fail-on", "never", "-o", out, "../../examples/wsl2-supported.yaml"); code != ExitOK {
		t.Fatalf("replacing a 100 MiB file: exit %d %s", code, stderr)
	}
	if st, _ := os.Stat(out); st.Size() > 1<<20 || st.Mode().Perm() != 0o640 {
		t.Errorf("after: %d bytes, mode %v (want the new document, mode 0640 kept)", st.Size(), st.Mode().Perm())
	}
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	fresh := filepath.Join(dir, "new.json")
	nv(t, "", "plan", "--format", "json", "--fail-on", "never", "-o", fresh, "../../examples/wsl2-supported.yaml")
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("a new file under umask 077: %v %v, want 0600", st.Mode().Perm(), err)
	}
	// sysfs lets no one, root included, create a file.
	if _, stderr, code := nv(t, "", "check", "--root", snapshots+"intel-l0-ready/root", "-o", "/sys/nestvirt-test.txt"); code != ExitDependency || !strings.Contains(stderr, "--output /sys/nestvirt-test.txt") {
		t.Errorf("a directory that cannot be written: exit %d %s", code, stderr)
	}
	if _, stderr, code := nv(t, "", "check", "--root", snapshots+"intel-l0-ready/root", "-o", filepath.Join(dir, "no/such/dir/x.txt")); code != ExitInput {
		t.Errorf("a missing directory: exit %d %s", code, stderr)
	}
}

// TestAClosedStandardOutputFails: `nestvirt ... >&-` gave exit 0 for 22 of 23
// commands, as the Go runtime opens /dev/null (read-write) in place of a closed
// descriptor and every write went into it. Each command that prints is run
// with that descriptor, and with a shell's `>/dev/null` (write-only), which is
// the way to discard output and must keep its exit code.
func TestAClosedStandardOutputFails(t *testing.T) {
	root := snapshots + "intel-l0-ready/root"
	dir := t.TempDir()
	doc := filepath.Join(dir, "check.json")
	os.WriteFile(doc, []byte(`{"schema":"nestvirt/check/v1","verdict":"supported","host":{"name":"h"},"findings":[]}`), 0o644)
	commands := [][]string{
		{"version"},
		{"check", "--root", root},
		{"check", "--root", root, "--format", "json"},
		{"plan", "../../examples/wsl2-supported.yaml"},
		{"matrix"},
		{"os", "list"},
		{"policy", "show"},
		{"policy", "lint", "../../policies/rhel-10.yaml"},
		{"schema", "check"},
		{"completion", "bash"},
		{"help"},
		{"enable", "--root", root, "--dry-run"},
		{"disable", "--root", root, "--dry-run"},
		{"snapshot", "--help"},
		{"vms", "--help"},
		{"guard", "status", "--hooks-dir", dir, "--root", root},
		{"report", doc},
	}
	for _, args := range commands {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			rw, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer rw.Close()
			wo, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer wo.Close()
			var e1, e2 strings.Builder
			closed := Main(args, strings.NewReader(""), rw, &e1)
			discarded := Main(args, strings.NewReader(""), wo, &e2)
			if closed != ExitDependency || !strings.Contains(e1.String(), "standard output was closed") {
				t.Errorf("closed: exit %d, %q", closed, e1.String())
			}
			if discarded == ExitDependency {
				t.Errorf(">/dev/null: exit %d, %q", discarded, e2.String())
			}
		})
	}
}

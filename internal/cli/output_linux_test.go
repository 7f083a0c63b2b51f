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

package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// failingWriter takes n bytes, then fails every write as a full disk does.
type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	k := f.n
	f.n = 0
	return k, syscall.ENOSPC
}

// nvTo runs nestvirt with its standard output going to w.
func nvTo(t *testing.T, w *failingWriter, args ...string) (string, int) {
	t.Helper()
	var errb strings.Builder
	a := &app{stdin: strings.NewReader(""), stdout: w, stderr: &errb, getenv: func(string) string { return "" }}
	root := a.rootCmd()
	root.SetArgs(args)
	code := mainWith(a, root)
	return errb.String(), code
}

// TestAnOutputThatFailsIsExitThreeInEveryFormat: whatever writes to standard
// output (a text renderer, JSON, Prometheus, a command's own lines), a write
// that fails at any point is a failed dependency, never success, and never the
// verdict's code.
func TestAnOutputThatFailsIsExitThreeInEveryFormat(t *testing.T) {
	root := snapshots + "amd-l0-nested/root"
	for _, args := range [][]string{
		{"check", "--root", root},
		{"check", "--root", root, "-q", "--migrates", "yes"},
		{"check", "--root", root, "--format", "json"},
		{"check", "--root", root, "--format", "prometheus"},
		{"check", "--root", root, "--format", "nfd"},
		{"matrix"},
		{"matrix", "--format", "json"},
		{"plan", "../../examples/"},
		{"plan", "--format", "json", "../../examples/"},
		{"os", "list"},
		{"policy", "show"},
		{"schema", "check"},
		{"version"},
	} {
		all := &failingWriter{n: 1 << 30}
		nvTo(t, all, args...)
		size := 1<<30 - all.n
		for _, after := range []int{0, size / 2, size - 1} {
			stderr, code := nvTo(t, &failingWriter{n: after}, args...)
			if code != ExitDependency || !strings.Contains(stderr, "writing to standard output: no space left on device") {
				t.Errorf("%v, failing after %d of %d bytes: exit %d, %q", args, after, size, code, stderr)
			}
		}
	}
}

// TestCheckToDevFull: the device that fails every write, as a user meets it.
func TestCheckToDevFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("/dev/full: %v", err) // every Linux has it
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

// TestEveryFileNestvirtReadsIsBounded: policy lint of /dev/zero stops at the
// policy's limit, as --policy does.
func TestEveryFileNestvirtReadsIsBounded(t *testing.T) {
	for _, args := range [][]string{{"policy", "lint", "/dev/zero"}, {"--policy", "/dev/zero", "matrix"}, {"plan", "/dev/zero"}, {"expose", "--file", "/dev/zero", "--vendor", "intel"}} {
		_, stderr, code := nv(t, "", args...)
		if code != ExitInput || !strings.Contains(stderr, "too large") && !strings.Contains(stderr, "larger than") {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
}

// TestEnableSaysWhyLibvirtCouldNotBeAsked: the cause is kept, not replaced.
func TestEnableSaysWhyLibvirtCouldNotBeAsked(t *testing.T) {
	withDial(t, func(o libvirt.Options) (daemon, error) {
		return nil, &libvirt.ConnectError{URI: o.URI, Err: errors.New("dial unix /run/libvirt/libvirt-sock-ro: connect: permission denied")}
	})
	_, err := runningVMs(connectFlags{uri: "qemu:///system"})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the cause is lost: %v", err)
	}
}

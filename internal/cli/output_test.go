package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/fulldisk"
	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// nvTo runs nestvirt with its standard output going to w.
func nvTo(t *testing.T, w *fulldisk.Writer, args ...string) (string, int) {
	t.Helper()
	var errb strings.Builder
	a := &app{stdin: strings.NewReader(""), stdout: w, stderr: &errb, getenv: func(string) string { return "" }, now: func() time.Time { return fixedNow }}
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
		all := &fulldisk.Writer{Room: 1 << 30}
		nvTo(t, all, args...)
		size := 1<<30 - all.Room
		for _, after := range []int{0, size / 2, size - 1} {
			stderr, code := nvTo(t, &fulldisk.Writer{Room: after}, args...)
			if code != ExitDependency || !strings.Contains(stderr, "writing to standard output: no space left on device") {
				t.Errorf("%v, failing after %d of %d bytes: exit %d, %q", args, after, size, code, stderr)
			}
		}
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
	dial := func(o libvirt.Options) (daemon, error) {
		return nil, &libvirt.ConnectError{URI: o.URI, Err: errors.New("dial unix /run/libvirt/libvirt-sock-ro: connect: permission denied")}
	}
	_, err := runningVMs(clioptions.Connect{URI: "qemu:///system", Dial: dial})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("the cause is lost: %s", err)
	}
}

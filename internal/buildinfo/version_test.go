package buildinfo

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The stamps package.sh sets with -ldflags -X reach both version outputs.
func TestVersionStampedByTheLinker(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nestvirt")
	pkg := "github.com/nestvirt/nestvirt/internal/buildinfo"
	ld := "-X " + pkg + ".Version=9.8.7 -X " + pkg + ".Commit=0123456789abcdef0123 -X " + pkg + ".Date=2026-01-02T03:04:05Z"
	build := exec.Command("go", "build", "-buildvcs=false", "-trimpath", "-ldflags", ld, "-o", bin, "../../cmd/nestvirt")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := "nestvirt 9.8.7 (0123456789ab, built 2026-01-02T03:04:05Z, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(out), "\n"); first != want {
			t.Errorf("%v: %q, want %q", args, first, want)
		}
	}
}

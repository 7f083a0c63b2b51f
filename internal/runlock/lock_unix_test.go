//go:build unix

package runlock

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestALockIsHeldUntilReleased: a second taker waits, then gives up at its
// deadline; after the release it gets it.
func TestALockIsHeldUntilReleased(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	unlock, err := Take(dir, Name("domain", "qemu:///system", "vm"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("the lock directory: %v %v, want mode 0700", st.Mode().Perm(), err)
	}
	start := time.Now()
	if _, err := Take(dir, Name("domain", "qemu:///system", "vm"), 100*time.Millisecond); err == nil {
		t.Fatal("a held lock was taken twice")
	} else if d := time.Since(start); d < 100*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
	if other, err := Take(dir, Name("domain", "qemu:///system", "vm2"), 100*time.Millisecond); err != nil {
		t.Errorf("another domain's lock: %v", err)
	} else {
		other()
	}
	unlock()
	again, err := Take(dir, Name("domain", "qemu:///system", "vm"), 100*time.Millisecond)
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	again()
}

// TestALockOthersCouldTakeIsRefused: a lock directory or file others can write,
// or a symlink in the file's place, is refused with its name, and nothing is
// locked (a user who can create the file could hold it and block root).
func TestALockOthersCouldTakeIsRefused(t *testing.T) {
	for name, prepare := range map[string]func(dir string) error{
		"a group-writable directory": func(dir string) error { return os.Chmod(dir, 0o770) },
		"a world-writable directory": func(dir string) error { return os.Chmod(dir, 0o777) },
		"a sticky world-writable directory": func(dir string) error {
			return os.Chmod(dir, os.ModeSticky|0o777)
		},
		"a world-writable lock file": func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "x.lock"), nil, 0o600); err != nil {
				return err
			}
			return os.Chmod(filepath.Join(dir, "x.lock"), 0o666)
		},
		"a symlink as the lock file": func(dir string) error {
			return os.Symlink("/etc/passwd", filepath.Join(dir, "x.lock"))
		},
		"a directory as the lock file": func(dir string) error { return os.Mkdir(filepath.Join(dir, "x.lock"), 0o700) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "locks")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := prepare(dir); err != nil {
				t.Fatal(err)
			}
			unlock, err := Take(dir, "x.lock", 100*time.Millisecond)
			if err == nil {
				unlock()
				t.Fatal("taken")
			}
			if !errors.Is(err, ErrUntrusted) || !strings.Contains(err.Error(), dir) {
				t.Errorf("%v", err)
			}
		})
	}
	// A symlink in the directory's place.
	top := t.TempDir()
	os.Symlink(t.TempDir(), filepath.Join(top, "locks"))
	if _, err := Take(filepath.Join(top, "locks"), "x.lock", 100*time.Millisecond); !errors.Is(err, ErrUntrusted) {
		t.Errorf("a symlinked lock directory: %v", err)
	}
}

// Package rootexec guards what root runs from another program's path: the
// libvirt hook and the Ansible fact run nestvirt as root, so the binary they name
// must not vanish or be replaceable by anyone but root, and the scripts quote what
// they embed.
package rootexec

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// SuggestedBinary is where packages install nestvirt.
const SuggestedBinary = "/usr/bin/nestvirt"

// Quote quotes s for a POSIX shell.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Check says why root must not run a binary from another program's path (a
// libvirt hook, an Ansible fact): it would vanish (a temporary or build-cache
// file, as `go run` gives), or someone but root could replace it (not owned by
// root, writable by others, in a directory they may write). what names who runs
// it, for the message.
func Check(path, what string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%s is not an absolute path", path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	for _, tmp := range tempDirs() {
		if tmp != "" && (path == tmp || strings.HasPrefix(path, strings.TrimSuffix(tmp, "/")+"/")) {
			return fmt.Errorf("%s is in %s, a temporary or build-cache directory: it would run a file that vanishes (with 'go run' it is gone when install returns)", path, tmp)
		}
	}
	if strings.Contains(path, "/go-build") {
		return fmt.Errorf("%s is in Go's build cache: it would run a file that vanishes", path)
	}
	for p := path; ; p = filepath.Dir(p) {
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if p == path && st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink; give the file it points to", path)
		}
		if owner := fsroot.Owner(st); owner > 0 {
			return fmt.Errorf("%s belongs to uid %d, not root: that user could replace what %s", p, owner, what)
		}
		if st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 {
			return fmt.Errorf("%s is writable by its group or others (mode %v): they could replace what %s", p, st.Mode().Perm(), what)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func tempDirs() []string {
	dirs := []string{"/tmp", "/var/tmp", "/dev/shm", os.TempDir(), os.Getenv("GOCACHE")}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "go-build"))
	}
	if cache, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(cache, "go-build"))
	}
	return dirs
}

// Package rootexec guards what root runs from another program's path: the
// libvirt hook and the Ansible fact run nestvirt as root, so the binary they name
// must not vanish or be replaceable by anyone but root, and the scripts quote what
// they embed.
package rootexec

import (
	"errors"
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
// file, as `go run` gives), or someone but root could replace it (Trusted). what
// names who runs it, for the message.
func Check(path, what string) error {
	if err := notVanishing(path); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return Trusted(path, what)
}

// CheckFile is Check for a file root reads to decide (a policy, stated facts):
// it must stay where it is and be root's alone.
func CheckFile(path, what string) error {
	if err := notVanishing(path); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return Trusted(path, what)
}

// CheckTree is CheckFile for a directory tree root reads to decide (a snapshot
// given to the guard with --root): the directory, the ones above it, and every
// entry in it (at most maxEntries) are root's alone.
func CheckTree(dir, what string) error {
	if err := notVanishing(dir); err != nil {
		return err
	}
	return TrustedTree(dir, what)
}

// TrustedTree is Trusted for dir and every entry in it (at most maxEntries):
// whether root may decide with what it holds, wherever it is.
func TrustedTree(dir, what string) error {
	if err := Trusted(dir, what); err != nil {
		return err
	}
	n := 0
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n > maxEntries {
			return fmt.Errorf("%s holds more than %d entries: not a snapshot nestvirt wrote", dir, maxEntries)
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		return owned(p, info, what)
	})
}

// maxEntries bounds the walk of a tree: a snapshot holds a few hundred.
const maxEntries = 100000

func notVanishing(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%s is not an absolute path", path)
	}
	for _, tmp := range tempDirs() {
		if tmp != "" && (path == tmp || strings.HasPrefix(path, strings.TrimSuffix(tmp, "/")+"/")) {
			return fmt.Errorf("%s is in %s, a temporary or build-cache directory: it would vanish (with 'go run' it is gone when install returns)", path, tmp)
		}
	}
	if strings.Contains(path, "/go-build") {
		return fmt.Errorf("%s is in Go's build cache: it would vanish", path)
	}
	return nil
}

// Trusted says why someone but root could change what path holds: the path
// itself, or a directory above it, belongs to another user or is writable by
// its group or others (a sticky directory, as /tmp, protects root's entries).
// path must not be a symlink. what names what root does with it.
func Trusted(path, what string) error {
	for p := path; ; p = filepath.Dir(p) {
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if p == path && st.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink; give the file it points to", path)
		}
		if err := owned(p, st, what); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func owned(p string, st fs.FileInfo, what string) error {
	if owner := fsroot.Owner(st); owner > 0 {
		return fmt.Errorf("%s belongs to uid %d, not root: that user could change what %s", p, owner, what)
	}
	if st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 && st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s is writable by its group or others (mode %v): they could change what %s", p, st.Mode().Perm(), what)
	}
	return nil
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

// InstallPath says why someone other than root could change what another
// program runs from where root installs a file (libvirt's hook directory and
// its qemu.d, Ansible's facts.d), one error per path: strict are the
// directories the program runs files from, which must be root's and writable
// by no one else, a sticky bit included (others could add their own files
// beside root's, which the program runs too); the directories above the first
// as Trusted has them; file, when not "", the installed file itself. A strict
// directory or file that does not exist yet is not a problem (install creates
// it, root's, mode 0755).
func InstallPath(strict []string, file, what string) []error {
	var errs []error
	if len(strict) == 0 {
		return nil
	}
	for p := filepath.Dir(filepath.Clean(strict[0])); ; p = filepath.Dir(p) {
		st, err := os.Lstat(p)
		if err == nil && (fsroot.Owner(st) != os.Geteuid() || st.Mode().Perm()&0o022 != 0) {
			err = owned(p, st, what)
		} else if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
		if err != nil {
			errs = append(errs, err)
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	for _, d := range strict {
		st, err := os.Lstat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			errs = append(errs, err)
		case st.Mode()&fs.ModeSymlink != 0:
			errs = append(errs, fmt.Errorf("%s is a symlink: what it points to could change what %s", d, what))
		case !st.IsDir():
			errs = append(errs, fmt.Errorf("%s is not a directory", d))
		default:
			if err := strictOwned(d, st, what); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if file != "" {
		if st, err := os.Lstat(file); err == nil {
			if st.Mode()&fs.ModeSymlink != 0 {
				errs = append(errs, fmt.Errorf("%s is a symlink: what it points to could change what %s", file, what))
			} else if err := strictOwned(file, st, what); err != nil {
				errs = append(errs, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errs
}

// strictOwned is owned without the sticky bit's exemption. The user running
// nestvirt may own what it installs (for root, that is root).
func strictOwned(p string, st fs.FileInfo, what string) error {
	if owner := fsroot.Owner(st); owner > 0 && owner != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not root: that user could change what %s", p, owner, what)
	}
	if st.Mode().Perm()&0o022 != 0 {
		sticky := ""
		if st.Mode()&fs.ModeSticky != 0 {
			sticky = "; the sticky bit does not help: others could add files of their own there"
		}
		return fmt.Errorf("%s is writable by its group or others (mode %v%s): they could change what %s", p, st.Mode().Perm(), sticky, what)
	}
	return nil
}

// Self is the binary another program is to run: given when not "", else the
// running nestvirt, its symlinks resolved (what is checked is what will run).
func Self(given string) (string, error) {
	if given != "" {
		return given, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(exe)
}

//go:build unix

package runlock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Take takes the exclusive lock name in dir (Dir() in use), creating dir (mode
// 0700) when it is missing, and waits at most timeout for another nestvirt to
// release it. dir and the lock file must be this user's alone.
func Take(dir, name string, timeout time.Duration) (unlock func(), err error) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("lock directory %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("lock directory %s: %w", dir, err)
	}
	if err := mine(dir, st, true); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if lst, err := root.Lstat(name); err == nil && !lst.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is a symlink or a directory, not a lock file: %w; nothing edited", filepath.Join(dir, name), ErrUntrusted)
	}
	f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EISDIR) {
		return nil, fmt.Errorf("%s is a symlink or a directory, not a lock file: %w; nothing edited", filepath.Join(dir, name), ErrUntrusted)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", filepath.Join(dir, name), err)
	}
	if fst, err := f.Stat(); err != nil || mine(filepath.Join(dir, name), fst, false) != nil {
		f.Close()
		if err == nil {
			err = mine(filepath.Join(dir, name), fst, false)
		}
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", filepath.Join(dir, name), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mine says why p is not this user's alone: another owner, group or other
// write permission, a symlink, or (for the directory) not a directory.
func mine(p string, st fs.FileInfo, dir bool) error {
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink: %w; nothing edited", p, ErrUntrusted)
	case dir && !st.IsDir():
		return fmt.Errorf("%s is not a directory: %w; nothing edited", p, ErrUntrusted)
	case !dir && !st.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file: %w; nothing edited", p, ErrUntrusted)
	}
	s, ok := st.Sys().(*syscall.Stat_t)
	if ok && int(s.Uid) != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to uid %d who runs nestvirt: %w (another user could hold the lock and block this edit); remove it, nestvirt recreates it; nothing edited", p, s.Uid, os.Geteuid(), ErrUntrusted)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by its group or others (mode %v): %w; nothing edited", p, st.Mode().Perm(), ErrUntrusted)
	}
	return nil
}

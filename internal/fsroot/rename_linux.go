//go:build linux

package fsroot

import (
	"errors"
	"path"

	"golang.org/x/sys/unix"
)

// swap exchanges the files at a and b atomically (renameat2 with
// RENAME_EXCHANGE), or, with noReplace, moves a to b only if b does not exist
// (RENAME_NOREPLACE: EEXIST when it does). Both are relative to the tree; the
// directories are opened through the tree (os.Root) and only plain names are
// renamed within them, so nothing can leave it. ok is false where the file
// system cannot (then nothing was done, and the caller renames plainly).
func (d *Dir) swap(a, b string, noReplace bool) (ok bool, err error) {
	da, err := d.root.Open(name(path.Dir(a)))
	if err != nil {
		return false, err
	}
	defer da.Close()
	db, err := d.root.Open(name(path.Dir(b)))
	if err != nil {
		return false, err
	}
	defer db.Close()
	flags := uint(unix.RENAME_EXCHANGE)
	if noReplace {
		flags = unix.RENAME_NOREPLACE
	}
	err = unix.Renameat2(int(da.Fd()), path.Base(a), int(db.Fd()), path.Base(b), flags)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return false, nil
	}
	return err == nil, err
}

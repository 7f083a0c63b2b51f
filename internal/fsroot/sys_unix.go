//go:build unix

package fsroot

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// nonBlock keeps an open of a FIFO from waiting for a writer.
const nonBlock = syscall.O_NONBLOCK

// syncDir makes a rename in dir durable.
func (d *Dir) syncDir(dir string) error {
	f, err := d.root.Open(name(dir))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := d.syncFile(f); err != nil {
		return fmt.Errorf("syncing %s: %w", d.Real(dir), err)
	}
	return nil
}

// chownLike gives f the owner and group of the file described by like; as a user
// who may not, it leaves the owner as it is when it already matches.
func chownLike(f *os.File, like fs.FileInfo) error {
	st, ok := like.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	cur, err := f.Stat()
	if err == nil {
		if c, ok := cur.Sys().(*syscall.Stat_t); ok && c.Uid == st.Uid && c.Gid == st.Gid {
			return nil
		}
	}
	return f.Chown(int(st.Uid), int(st.Gid))
}

// Owner returns a file's owner uid, or -1 when unknown.
func Owner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

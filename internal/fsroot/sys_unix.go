//go:build unix

package fsroot

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
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

// Lock takes an exclusive lock on rel (created, mode 0600, if need be), waiting
// at most timeout; unlock releases it. It serialises nestvirt's own processes
// around an edit that the thing edited cannot make atomic (a libvirt domain).
func (d *Dir) Lock(rel string, timeout time.Duration) (unlock func(), err error) {
	f, err := d.root.OpenFile(name(rel), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, d.confine(rel, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", d.Real(rel), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

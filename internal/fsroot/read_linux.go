//go:build linux

package fsroot

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// readRegular reads a regular file with four system calls (open, fstat, read
// until end, close). os.Open spends five more on each file: it offers the
// descriptor to the runtime's poller (epoll_ctl, refused for a regular file)
// and switches it to non-blocking and back (four fcntl). A plan of 20,000 files
// makes 200,000 system calls, each costly in a nested guest; half of them go.
// Anything else (a pipe, a device) comes back open as other, for os.File to
// read: it can wait on it, and the open is not repeated (a FIFO's writer would
// see its reader go).
func readRegular(name string, max int64) (data []byte, other *os.File, err error) {
	// Blocking, as os.Open: a FIFO's open waits for its writer.
	fd, err := retry(func() (int, error) { return unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0) })
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, os.NewFile(uintptr(fd), name), nil
	}
	defer unix.Close(fd)
	// One byte more than the file holds, so a read that fills the buffer is
	// not taken for the end: the file may have grown since fstat.
	size := min(st.Size, max) + 1
	buf := make([]byte, 0, size)
	for int64(len(buf)) <= max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		// Never more than max+1 bytes in all, however the buffer grew.
		end := min(int64(cap(buf)), max+1)
		n, err := retry(func() (int, error) { return unix.Read(fd, buf[len(buf):end]) })
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, &fs.PathError{Op: "read", Path: name, Err: err})
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	if int64(len(buf)) > max {
		return nil, nil, fmt.Errorf("%s: %w (over %s)", name, ErrTooLarge, byteSize(max))
	}
	return buf, nil, nil
}

// retry repeats a system call a signal interrupted.
func retry(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != unix.EINTR {
			return n, err
		}
	}
}

//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// reopenedNull says whether f is the /dev/null the Go runtime puts in place of a
// closed standard descriptor (runtime.checkfds opens it read-write, O_RDWR),
// so that `nestvirt check >&-` would write into nothing and exit 0. A shell's
// `>/dev/null` opens it write-only and is left alone. What cannot be told apart:
// a parent that passes /dev/null opened read-write (Python's
// subprocess.DEVNULL); to nestvirt it reads as closed, and only when something
// is written to it.
func reopenedNull(f *os.File) bool {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(uint64(st.Rdev)) != 1 || unix.Minor(uint64(st.Rdev)) != 3 {
		return false
	}
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	return err == nil && fl&unix.O_ACCMODE == unix.O_RDWR
}

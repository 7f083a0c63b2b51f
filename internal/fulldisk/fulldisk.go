// Package fulldisk is, for tests, a writer that fills up as a disk does: it
// takes so many bytes, then fails every write with ENOSPC, as /dev/full and a
// full file system do.
package fulldisk

import "syscall"

// Writer takes Room bytes, then fails every write (a short write first, when
// a write straddles the end).
type Writer struct{ Room int }

func (w *Writer) Write(p []byte) (int, error) {
	if len(p) <= w.Room {
		w.Room -= len(p)
		return len(p), nil
	}
	k := w.Room
	w.Room = 0
	return k, syscall.ENOSPC
}

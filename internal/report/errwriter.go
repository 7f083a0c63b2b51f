package report

import "io"

// ErrWriter passes writes on to W until one fails, and then fails every later
// write with that error: a renderer writes line after line without checking
// each, and returns Err once at the end, so an output that could not be
// written (a full disk, a closed pipe, /dev/full) is never reported as done.
type ErrWriter struct {
	W   io.Writer
	Err error
}

// Write writes p to W unless an earlier write failed.
func (e *ErrWriter) Write(p []byte) (int, error) {
	if e.Err != nil {
		return 0, e.Err
	}
	n, err := e.W.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		e.Err = err
	}
	return n, err
}

// errWriter wraps w once: a renderer called by another shares its ErrWriter.
func errWriter(w io.Writer) *ErrWriter {
	if e, ok := w.(*ErrWriter); ok {
		return e
	}
	return &ErrWriter{W: w}
}

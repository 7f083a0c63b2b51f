package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/report"
)

// writeOutput writes a file the user named, atomically: the content is streamed
// into a temporary file in the same directory, synced and renamed over the file
// (what node_exporter's textfile collector and NFD ask for). Nothing of the old
// file is read, so its size does not matter; a render that fails, a full disk or
// a directory that cannot be written leaves it as it was. A new file's mode is
// mode as the umask leaves it. A directory that does not exist is bad input (2);
// a write that fails is a failed dependency (3), as for standard output.
func writeOutput(path string, mode fs.FileMode, fn func(io.Writer) error) error {
	d, err := fsroot.Open(filepath.Dir(path))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return inputErrorf("--output %s: %w; nothing written", path, err)
	}
	if err != nil {
		return dependencyError{Err: fmt.Errorf("--output %s: %w; nothing written", path, err)}
	}
	defer d.Close()
	var renderErr error
	err = d.WriteStream(filepath.Base(path), mode, func(w io.Writer) error {
		ew := &report.ErrWriter{W: w}
		renderErr = fn(ew)
		if ew.Err != nil {
			return ew.Err
		}
		return renderErr
	})
	switch {
	case err == nil:
		return nil
	case renderErr != nil && errors.Is(err, renderErr) && classified(renderErr):
		return renderErr // the render's own failure, not the file's
	case errors.Is(err, fsroot.ErrEscapes):
		return inputErrorf("--output %s: %w", path, err)
	}
	return dependencyError{Err: fmt.Errorf("--output %s: %w; the previous file, if any, is unchanged", path, err)}
}

package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// WriteFile writes a file the user named (--output), atomically: the content
// is streamed into a temporary file in the same directory, synced and renamed
// over the file (what node_exporter's textfile collector and NFD ask for).
// Nothing of the old file is read, so its size does not matter; a render that
// fails, a full disk or a directory that cannot be written leaves it as it
// was. A new file's mode is mode as the umask leaves it. A directory that does
// not exist, or a path that leads out of its directory, is bad input; a write
// that fails is a failed dependency, as for standard output; a render's own
// marked failure (package fault) is returned as it is.
func WriteFile(path string, mode fs.FileMode, render func(io.Writer) error) error {
	d, err := fsroot.Open(filepath.Dir(path))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fault.Inputf("--output %s: %w; nothing written", path, err)
	}
	if err != nil {
		return fault.Dependency{Err: fmt.Errorf("--output %s: %w; nothing written", path, err)}
	}
	defer d.Close()
	var renderErr error
	err = d.WriteStream(filepath.Base(path), mode, func(w io.Writer) error {
		ew := &ErrWriter{W: w}
		renderErr = render(ew)
		if ew.Err != nil {
			return ew.Err
		}
		return renderErr
	})
	switch {
	case err == nil:
		return nil
	case renderErr != nil && errors.Is(err, renderErr) && fault.Marked(renderErr):
		return renderErr // the render's own failure, not the file's
	case errors.Is(err, fsroot.ErrEscapes):
		return fault.Inputf("--output %s: %w", path, err)
	}
	return fault.Dependency{Err: fmt.Errorf("--output %s: %w; the previous file, if any, is unchanged", path, err)}
}

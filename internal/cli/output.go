package cli

import (
	"bytes"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// writeOutput writes a file the user named, atomically: the content is made in
// memory, written to a temporary file in the same directory, synced and renamed
// over the file (what node_exporter's textfile collector and NFD ask for). A full
// disk or a read-only directory leaves the previous file as it was.
func writeOutput(path string, mode fs.FileMode, fn func(io.Writer) error) error {
	var b bytes.Buffer
	if err := fn(&b); err != nil {
		return err
	}
	d, err := fsroot.Open(filepath.Dir(path))
	if err != nil {
		return inputErrorf("--output %s: %v; nothing written", path, err)
	}
	defer d.Close()
	if err := d.WriteAtomic(filepath.Base(path), b.Bytes(), fsroot.WriteOptions{Mode: mode}); err != nil {
		// A full disk, a read-only directory: the previous file stays as it was.
		return inputErrorf("--output %s: %v; the previous file, if any, is unchanged", path, err)
	}
	return nil
}

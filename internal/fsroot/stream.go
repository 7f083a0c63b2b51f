package fsroot

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// WriteStream replaces rel with what fn writes, streamed to a temporary file in
// the same directory that is synced and renamed over rel: readers of rel see
// the old file or the whole new one, and a write that fails (fn's error, a full
// disk) leaves the old file as it was. Nothing of the old file is read, so its
// size does not matter. A new file gets mode as the process's umask leaves it
// (as a shell redirection does); an existing one keeps its mode.
func (d *Dir) WriteStream(rel string, mode fs.FileMode, fn func(io.Writer) error) (err error) {
	defer func() { err = d.confine(rel, err) }()
	keep := fs.FileMode(0)
	if st, err := d.root.Lstat(name(rel)); err == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s: %w (%s); nothing written", d.Real(rel), ErrNotRegular, kind(st.Mode()))
		}
		keep = st.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	dir := path.Dir(rel)
	tmp := path.Join(dir, "."+path.Base(rel)+".nestvirt-"+hex.EncodeToString(rnd[:]))
	// O_CREATE applies the umask to mode, as for any new file the user makes.
	f, err := d.root.OpenFile(name(tmp), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("creating a temporary file in %s: %w", d.Real(dir), err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			d.root.Remove(name(tmp))
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := fn(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", d.Real(rel), err)
	}
	if keep != 0 {
		if err := f.Chmod(keep); err != nil {
			return err
		}
	}
	if err := d.syncFile(f); err != nil {
		return fmt.Errorf("syncing %s: %w", d.Real(rel), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", d.Real(rel), err)
	}
	done = true
	if err := d.root.Rename(name(tmp), name(rel)); err != nil {
		d.root.Remove(name(tmp))
		return fmt.Errorf("replacing %s: %w", d.Real(rel), err)
	}
	return d.syncDir(dir)
}

// ReadNamed reads a file a user named on the command line (a topology, a
// policy, a domain XML, a fleet document), outside any tree: at most max bytes,
// so /dev/zero or a file of gigabytes is refused after max+1 bytes rather than
// read whole. A pipe (a shell's <(...)) is read like a file.
func ReadNamed(file string, max int64) ([]byte, error) {
	data, f, err := readRegular(file, max)
	if err != nil || f == nil {
		return data, err
	}
	defer f.Close()
	size := int64(0)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= max {
		size = st.Size()
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+512))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if int64(buf.Len()) > max {
		return nil, fmt.Errorf("%s: %w (over %s)", file, ErrTooLarge, byteSize(max))
	}
	return buf.Bytes(), nil
}

// byteSize names a limit as people read it: "4 MiB", "512 KiB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

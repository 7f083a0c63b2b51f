package fsroot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrNotOurs refuses to replace or remove a file nestvirt did not install.
var ErrNotOurs = errors.New("not installed by nestvirt")

// Owned is a file nestvirt installs into another program's directory (a libvirt
// hook, an Ansible fact), known as nestvirt's by a marker in its text: it is
// replaced or removed only when the marker says nestvirt wrote it. Its
// temporary files are written in TempDir (relative to Dir), where the other
// program does not look, and those a killed install left are removed.
type Owned struct {
	Dir     string      // the directory it is installed under
	Rel     string      // its slash path in Dir
	Marker  string      // a line only nestvirt's file holds
	TempDir string      // where its temporary file is written, relative to Dir
	Mode    fs.FileMode // its mode
}

// maxOwned bounds what is read of an installed file: nestvirt's are a few KB.
const maxOwned = 1 << 20

// Path is where the file is.
func (o Owned) Path() string { return filepath.Join(o.Dir, filepath.FromSlash(o.Rel)) }

// Read reads the installed file. Nothing installed is no error: nil, false,
// nil, nil.
func (o Owned) Read() (content []byte, ours bool, info fs.FileInfo, err error) {
	d, err := Open(o.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil, nil
	}
	if err != nil {
		return nil, false, nil, err
	}
	defer d.Close()
	b, st, err := d.ReadFile(o.Rel, maxOwned)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil, nil
	}
	if err != nil {
		return nil, false, nil, err
	}
	return b, strings.Contains(string(b), o.Marker), st, nil
}

// Install writes the file atomically, content given what is installed now (nil
// for nothing), creating Dir and the file's directory as needed. It replaces
// only a file of its own.
func (o Owned) Install(content func(prev []byte) []byte) (p string, changed bool, err error) {
	if err := os.MkdirAll(filepath.Join(o.Dir, filepath.FromSlash(path.Dir(o.Rel))), 0o755); err != nil {
		return "", false, err
	}
	d, err := Open(o.Dir)
	if err != nil {
		return "", false, err
	}
	defer d.Close()
	prev, _, err := d.ReadFile(o.Rel, maxOwned)
	switch {
	case err == nil && !strings.Contains(string(prev), o.Marker):
		return d.Real(o.Rel), false, fmt.Errorf("%s exists: %w; not overwritten", d.Real(o.Rel), ErrNotOurs)
	case err != nil:
		prev = nil
	}
	left := o.removeTemps(d)
	next := content(prev)
	// The same bytes with the same mode: nothing to write (a configuration tool
	// re-running the install sees it unchanged).
	if fi, serr := d.Lstat(o.Rel); prev != nil && bytes.Equal(prev, next) && serr == nil && fi.Mode().Perm() == o.Mode.Perm() && len(left) == 0 {
		return d.Real(o.Rel), false, nil
	}
	return d.Real(o.Rel), true, d.WriteAtomic(o.Rel, next, WriteOptions{Mode: o.Mode, TempDir: o.TempDir})
}

// Uninstall removes the file if it is nestvirt's, and any temporary file of a
// killed install; removed says whether there was anything to remove.
func (o Owned) Uninstall() (p string, removed bool, err error) {
	p = o.Path()
	d, err := Open(o.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	defer d.Close()
	left := o.removeTemps(d)
	b, _, err := d.ReadFile(o.Rel, maxOwned)
	if errors.Is(err, fs.ErrNotExist) {
		return p, len(left) > 0, nil
	}
	if err != nil {
		return p, false, err
	}
	if !strings.Contains(string(b), o.Marker) {
		return p, false, fmt.Errorf("%s: %w; not removed", p, ErrNotOurs)
	}
	return p, true, d.Remove(o.Rel)
}

// Leftovers lists the temporary files a killed install left behind.
func (o Owned) Leftovers() []string {
	d, err := Open(o.Dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	var out []string
	for _, dir := range o.tempDirs() {
		for _, p := range d.Glob(path.Join(dir, "."+path.Base(o.Rel)+".nestvirt-*")) {
			out = append(out, d.Real(p))
		}
	}
	return out
}

func (o Owned) removeTemps(d *Dir) []string {
	var out []string
	for _, dir := range o.tempDirs() {
		out = append(out, d.RemoveTemps(dir, path.Base(o.Rel))...)
	}
	return out
}

// tempDirs are where temporaries may be: beside the file (where an older
// nestvirt wrote them) and in TempDir.
func (o Owned) tempDirs() []string {
	dirs := []string{path.Dir(o.Rel)}
	if t := path.Clean(o.TempDir); o.TempDir != "" && t != dirs[0] {
		dirs = append(dirs, t)
	}
	return dirs
}

// Package fsroot is confined file access: every read and write nestvirt makes under
// a directory (the live "/", a snapshot tree, --root, a hook directory) goes through
// Go's os.Root, so no symlink or ".." can lead outside it. Reads take regular files
// only, bounded in size, so a FIFO or a device planted in a tree cannot hang or feed
// a reader. Writes are atomic and can be made conditional on what was read.
package fsroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nestvirt/nestvirt/internal/fault"
)

// Dir is a directory tree nestvirt reads and writes in.
type Dir struct {
	root *os.Root
	path string // as given, cleaned
	// live is true for "/": an absolute symlink there stays inside the tree, so it
	// is followed (os.Root refuses absolute links; a snapshot tree keeps refusing).
	live bool

	hooks *hooks // tests only
}

// ErrNotRegular is returned when a read meets something other than a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a file over the caller's size limit.
var ErrTooLarge = errors.New("file too large")

// ErrEscapes is returned when a symlink or ".." would lead out of the tree:
// bad input (fault.Input), wherever it is met.
var ErrEscapes error = fault.Input{Err: errors.New("leads out of the tree")}

// EscapeError names the path that would have left the tree, and the tree.
type EscapeError struct{ Path, Tree string }

func (e *EscapeError) Error() string {
	return fmt.Sprintf("%s: a symlink or \"..\" leads out of %s; refused", e.Path, e.Tree)
}

func (e *EscapeError) Unwrap() error { return ErrEscapes }

// confine names an escape os.Root refused as one; other errors pass unchanged.
// os.Root does not export its sentinel, so its text is matched, here only.
func (d *Dir) confine(rel string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "path escapes from parent" {
		return &EscapeError{Path: d.Real(rel), Tree: d.path}
	}
	return err
}

// Open opens dir as a confined tree.
func Open(dir string) (*Dir, error) {
	clean := filepath.Clean(dir)
	st, err := os.Stat(clean)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	r, err := os.OpenRoot(clean)
	if err != nil {
		return nil, err
	}
	return &Dir{root: r, path: clean, live: clean == string(filepath.Separator)}, nil
}

// OpenHost opens dir as a running machine's "/" mounted elsewhere (a container's
// view of its node, /host): absolute symlinks resolve inside it, as on "/".
func OpenHost(dir string) (*Dir, error) {
	d, err := Open(dir)
	if err != nil {
		return nil, err
	}
	d.live = true
	return d, nil
}

// Close releases the tree's descriptor.
func (d *Dir) Close() error { return d.root.Close() }

// Path is the directory as opened.
func (d *Dir) Path() string { return d.path }

// Live reports whether the tree is a running machine's "/" (itself, or mounted
// elsewhere with OpenHost).
func (d *Dir) Live() bool { return d.live }

// Real is the path a person reads for rel: the file under the tree.
func (d *Dir) Real(rel string) string {
	if d.path == string(filepath.Separator) {
		return "/" + strings.TrimPrefix(filepath.ToSlash(rel), "/")
	}
	return filepath.Join(d.path, filepath.FromSlash(rel))
}

// name turns a slash path relative to the tree into an os.Root name.
func name(rel string) string {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	if rel == "" {
		return "."
	}
	return filepath.FromSlash(rel)
}

// resolve follows absolute symlinks on the live tree, which os.Root refuses
// although they cannot leave "/". Elsewhere it returns rel unchanged.
func (d *Dir) resolve(rel string) string {
	if !d.live {
		return name(rel)
	}
	parts := strings.Split(strings.TrimPrefix(path.Clean("/"+rel), "/"), "/")
	for hops := 0; hops < 40; hops++ {
		changed := false
		for i := range parts {
			prefix := strings.Join(parts[:i+1], "/")
			st, err := d.root.Lstat(name(prefix))
			if err != nil || st.Mode()&fs.ModeSymlink == 0 {
				if err != nil {
					break
				}
				continue
			}
			target, err := d.root.Readlink(name(prefix))
			if err != nil || !path.IsAbs(target) {
				continue // relative links: os.Root follows them itself
			}
			rest := append([]string{strings.TrimPrefix(path.Clean(target), "/")}, parts[i+1:]...)
			parts = strings.Split(strings.Trim(path.Join(rest...), "/"), "/")
			changed = true
			break
		}
		if !changed {
			break
		}
	}
	return name(strings.Join(parts, "/"))
}

// Stat stats rel, following symlinks inside the tree.
func (d *Dir) Stat(rel string) (fs.FileInfo, error) {
	st, err := d.root.Stat(d.resolve(rel))
	return st, d.confine(rel, err)
}

// Lstat stats rel without following a final symlink.
func (d *Dir) Lstat(rel string) (fs.FileInfo, error) {
	st, err := d.root.Lstat(name(rel))
	return st, d.confine(rel, err)
}

// ReadFile reads a regular file of at most max bytes. Anything else (a FIFO, a
// device, a socket, a directory) is ErrNotRegular, checked before opening and again
// on the open file; a larger file is ErrTooLarge.
func (d *Dir) ReadFile(rel string, max int64) (data []byte, st fs.FileInfo, err error) {
	defer func() { err = d.confine(rel, err) }()
	n := d.resolve(rel)
	st, err = d.root.Stat(n)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, st, fmt.Errorf("%s: %w (%s)", rel, ErrNotRegular, kind(st.Mode()))
	}
	f, err := d.root.OpenFile(n, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, st, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() { // swapped between the check and the open
		return nil, st, fmt.Errorf("%s: %w (%s)", rel, ErrNotRegular, kind(st.Mode()))
	}
	data, err = io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, st, err
	}
	if int64(len(data)) > max {
		return nil, st, fmt.Errorf("%s: %w (over %d bytes)", rel, ErrTooLarge, max)
	}
	return data, st, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "not a plain file"
}

// ReadDir lists a directory's entries, sorted by name.
func (d *Dir) ReadDir(rel string) (_ []fs.DirEntry, err error) {
	defer func() { err = d.confine(rel, err) }()
	f, err := d.root.Open(d.resolve(rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, err
}

// Glob lists the paths matching a slash pattern (path.Match syntax in any
// component), sorted. Directories that cannot be listed match nothing.
func (d *Dir) Glob(pattern string) []string { return Glob(d, pattern) }

// A Tree is what Glob walks: a confined directory, or a sosreport's tree.
type Tree interface {
	Lstat(rel string) (fs.FileInfo, error)
	ReadDir(rel string) ([]fs.DirEntry, error)
}

// Glob lists the paths of t matching a slash pattern, wildcards in any
// component, sorted. Unlike fs.Glob, a component
// without wildcards is looked up with Lstat: a symlink is matched as itself,
// never followed out of the tree. Directories that cannot be listed match
// nothing.
func Glob(t Tree, pattern string) []string {
	parts := strings.Split(strings.Trim(pattern, "/"), "/")
	var out []string
	var walk func(prefix string, i int)
	walk = func(prefix string, i int) {
		if i == len(parts) {
			out = append(out, prefix)
			return
		}
		join := func(n string) string {
			if prefix == "" {
				return n
			}
			return prefix + "/" + n
		}
		if !strings.ContainsAny(parts[i], `*?[\`) {
			p := join(parts[i])
			if _, err := t.Lstat(p); err == nil {
				walk(p, i+1)
			}
			return
		}
		dir := prefix
		if dir == "" {
			dir = "."
		}
		ents, err := t.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if ok, _ := path.Match(parts[i], e.Name()); ok {
				walk(join(e.Name()), i+1)
			}
		}
	}
	walk("", 0)
	sort.Strings(out)
	return out
}

// Readlink returns the target of the symlink rel, without following it: a
// /proc/PID/fd entry names the file a process holds open.
func (d *Dir) Readlink(rel string) (string, error) {
	t, err := d.root.Readlink(name(rel))
	return t, d.confine(rel, err)
}

// OpenDevice opens a device node (dev/kvm) to learn whether this user may use it,
// and closes it unread.
func (d *Dir) OpenDevice(rel string, flag int) (err error) {
	defer func() { err = d.confine(rel, err) }()
	n := d.resolve(rel)
	st, err := d.root.Stat(n)
	if err != nil {
		return err
	}
	if st.Mode()&fs.ModeDevice == 0 {
		return fmt.Errorf("%s: not a device", rel)
	}
	f, err := d.root.OpenFile(n, flag|nonBlock, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// MkdirAll creates a directory and its parents inside the tree.
func (d *Dir) MkdirAll(rel string, perm fs.FileMode) error {
	return d.confine(rel, d.root.MkdirAll(d.resolve(rel), perm))
}

// CreateNew creates rel holding data, with mode. Anything already there (a file,
// a planted symlink) makes it fail: nothing is followed or overwritten.
func (d *Dir) CreateNew(rel string, data []byte, mode fs.FileMode) (err error) {
	defer func() { err = d.confine(rel, err) }()
	f, err := d.root.OpenFile(name(rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.Remove(rel)
	}
	return err
}

// Remove removes a file inside the tree (not following a final symlink).
func (d *Dir) Remove(rel string) error { return d.confine(rel, d.root.Remove(name(rel))) }

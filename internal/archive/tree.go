// Package archive holds a machine's files in memory, read from a directory or
// streamed from a tar archive (plain, gzip, xz or bzip2) within a budget of
// size, count and time: a sosreport, or a snapshot written with
// nestvirt snapshot --tar. Reads resolve symlinks inside the tree, as on the
// machine; nothing is ever written to disk.
package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// node is one path of the tree: a file, a directory, or a symlink.
type node struct {
	data   []byte
	mode   fs.FileMode // type bits and permissions
	target string      // for a symlink
	size   int64       // the size the report gave, also for a file too large to keep
	tooBig bool
}

// Tree is a machine's "/" as a report holds it, in memory: read from a directory
// or streamed from an archive, never written anywhere.
type Tree struct {
	name  string // the report, for messages
	nodes map[string]*node
	kids  map[string][]string // directory -> sorted child names
}

func newTree(name string) *Tree {
	t := &Tree{name: name, nodes: map[string]*node{".": {mode: fs.ModeDir | 0o755}}, kids: map[string][]string{}}
	return t
}

// clean makes rel a slash path inside the tree, or "" when it would leave it.
func clean(rel string) string {
	rel = strings.TrimPrefix(rel, "./")
	if rel == "" || rel == "." {
		return "."
	}
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return ""
		}
	}
	c := path.Clean("/" + rel)
	return strings.TrimPrefix(c, "/")
}

func (t *Tree) add(rel string, n *node) {
	rel = clean(rel)
	if rel == "" || rel == "." {
		return
	}
	if _, ok := t.nodes[rel]; !ok {
		parent := path.Dir(rel)
		if parent == "." || parent == "/" {
			parent = "."
		}
		t.addDir(parent)
		t.kids[parent] = append(t.kids[parent], path.Base(rel))
	}
	t.nodes[rel] = n
}

// Add puts a file the reader made (a report's command output laid out as the
// file the probe reads) into the tree.
func (t *Tree) Add(rel string, data []byte) {
	t.add(rel, &node{mode: 0o444, data: data, size: int64(len(data))})
	t.finish()
}

// AddDir puts a directory the reader made into the tree.
func (t *Tree) AddDir(rel string) {
	t.addDir(clean(rel))
	t.finish()
}

// Name is the tree's name: its archive's top directory, or the file's or
// directory's own name.
func (t *Tree) Name() string { return t.name }

func (t *Tree) addDir(rel string) {
	if rel == "." {
		return
	}
	if n, ok := t.nodes[rel]; ok && n.mode.IsDir() {
		return
	}
	t.add(rel, &node{mode: fs.ModeDir | 0o755})
}

// finish sorts the directory listings.
func (t *Tree) finish() {
	for _, k := range t.kids {
		sort.Strings(k)
	}
}

// resolve follows symlinks (absolute ones from the tree's root, as on the
// machine) in every component of rel; follow says whether the last is followed.
func (t *Tree) resolve(rel string, follow bool) (string, *node, error) {
	rel = clean(rel)
	if rel == "" {
		return "", nil, fs.ErrNotExist
	}
	parts := strings.Split(rel, "/")
	if rel == "." {
		parts = nil
	}
	cur := "."
	for hops := 0; len(parts) > 0; {
		next := parts[0]
		parts = parts[1:]
		p := next
		if cur != "." {
			p = cur + "/" + next
		}
		n, ok := t.nodes[p]
		if !ok {
			return p, nil, fs.ErrNotExist
		}
		if n.mode&fs.ModeSymlink != 0 && (len(parts) > 0 || follow) {
			if hops++; hops > 40 {
				return p, nil, errors.New("too many levels of symbolic links")
			}
			target := n.target
			base := cur
			if strings.HasPrefix(target, "/") {
				base = "."
			}
			joined := clean(path.Join(base, target))
			if joined == "" {
				joined = "." // ".." past the root stays at the root, as on a machine
			}
			var rest []string
			if joined != "." {
				rest = strings.Split(joined, "/")
			}
			parts = append(rest, parts...)
			cur = "."
			continue
		}
		cur = p
	}
	n := t.nodes[cur]
	if n == nil {
		return cur, nil, fs.ErrNotExist
	}
	return cur, n, nil
}

// info is a node's fs.FileInfo.
type info struct {
	name string
	n    *node
}

func (i info) Name() string       { return i.name }
func (i info) Size() int64        { return i.n.size }
func (i info) Mode() fs.FileMode  { return i.n.mode }
func (i info) ModTime() time.Time { return time.Time{} }
func (i info) IsDir() bool        { return i.n.mode.IsDir() }
func (i info) Sys() any           { return nil }

// ErrTooLarge is a file the report holds but nestvirt did not keep: over the size
// of any file the probe reads.
var ErrTooLarge = errors.New("too large to read")

func (t *Tree) ReadFile(rel string, max int64) ([]byte, fs.FileInfo, error) {
	p, n, err := t.resolve(rel, true)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "read", Path: rel, Err: err}
	}
	fi := info{path.Base(p), n}
	switch {
	case !n.mode.IsRegular():
		return nil, fi, fmt.Errorf("%s: not a regular file", rel)
	case n.tooBig || int64(len(n.data)) > max:
		return nil, fi, fmt.Errorf("%s: %w (%d bytes)", rel, ErrTooLarge, n.size)
	}
	return n.data, fi, nil
}

func (t *Tree) Stat(rel string) (fs.FileInfo, error) {
	p, n, err := t.resolve(rel, true)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: rel, Err: err}
	}
	return info{path.Base(p), n}, nil
}

func (t *Tree) Lstat(rel string) (fs.FileInfo, error) {
	p, n, err := t.resolve(rel, false)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: rel, Err: err}
	}
	return info{path.Base(p), n}, nil
}

type dirEntry struct{ info }

func (d dirEntry) Type() fs.FileMode          { return d.n.mode.Type() }
func (d dirEntry) Info() (fs.FileInfo, error) { return d.info, nil }

func (t *Tree) ReadDir(rel string) ([]fs.DirEntry, error) {
	p, n, err := t.resolve(rel, true)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: rel, Err: err}
	}
	if !n.mode.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", rel)
	}
	var out []fs.DirEntry
	for _, k := range t.kids[p] {
		c := k
		if p != "." {
			c = p + "/" + k
		}
		out = append(out, dirEntry{info{k, t.nodes[c]}})
	}
	return out, nil
}

// Glob matches a slash pattern with wildcards in any component, as fsroot does.
func (t *Tree) Glob(pattern string) []string { return fsroot.Glob(t, pattern) }

func (t *Tree) Real(rel string) string { return t.name + ":/" + strings.TrimPrefix(rel, "/") }

func (t *Tree) Close() error { return nil }

package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// Limits of what one tree may cost to read.
const (
	MaxFile  = 8 << 20  // a kept file; the probe reads none larger
	MaxKept  = 64 << 20 // all kept files together
	MaxFiles = 200_000  // members looked at in an archive
)

// ErrNotArchive is a file that is no tar archive nestvirt reads.
var ErrNotArchive = errors.New("not a tar archive (.tar, .tar.gz, .tar.xz, .tar.bz2)")

// Options say what of a directory or archive is kept.
type Options struct {
	// Keep says whether a file (or symlink) at rel is kept; nil keeps all.
	Keep func(rel string) bool
	// KeepDir says whether a directory may hold a kept file; nil: all may.
	KeepDir func(rel string) bool
	// OneTop: the members live under one top directory (a sosreport's
	// sosreport-NAME/), which the tree is named after and is the tree's root;
	// members outside it are ignored. Otherwise the archive's root is.
	OneTop bool
	// What names the kind of tree in messages ("a sosreport").
	What string
}

func (o Options) keep(rel string) bool    { return o.Keep == nil || o.Keep(rel) }
func (o Options) keepDir(rel string) bool { return o.KeepDir == nil || o.KeepDir(rel) }

// Open reads a directory, or an archive, into a tree.
func Open(p string, o Options) (*Tree, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	t := newTree(filepath.Base(p))
	if st.IsDir() {
		err = readDir(t, p, o)
	} else {
		err = readArchive(t, p, o)
	}
	if err != nil {
		return nil, err
	}
	t.finish()
	return t, nil
}

// readDir reads the kept files of a directory. Symlinks are kept as
// links of the tree (resolved inside it); nothing outside dir is read.
func readDir(t *Tree, dir string, o Options) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	kept := 0
	return fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || rel == "." {
			return nil // an unreadable part is unknown, as if not collected
		}
		if d.IsDir() {
			if !o.keepDir(rel) {
				return fs.SkipDir
			}
			t.addDir(rel)
			return nil
		}
		if !o.keep(rel) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := root.Readlink(rel)
			if err == nil {
				t.add(rel, &node{mode: fs.ModeSymlink | 0o777, target: target})
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		n := &node{mode: fi.Mode(), size: fi.Size()}
		if fi.Size() > MaxFile || kept+int(fi.Size()) > MaxKept {
			n.tooBig = true
		} else if n.data, err = root.ReadFile(rel); err != nil {
			return nil
		}
		kept += len(n.data)
		t.add(rel, n)
		return nil
	})
}

// The budget of an archive: what it may expand to (at most MaxRatio times its
// size plus 64 MiB, and at most MaxExpanded), and how long reading it may take.
// A sosreport of a few hundred MiB compresses about ten to one.
const (
	MaxExpanded = 4 << 30
	MaxRatio    = 200
	MaxReadTime = time.Minute
)

// budget counts what a decompressor gives and stops it past the budget.
type budget struct {
	r        io.Reader
	total    int64 // the budget
	left     int64
	deadline time.Time
	file     string
	what     string // the kind of tree, for messages
}

type budgetError struct{ msg string }

func (e *budgetError) Error() string { return e.msg }

func (b *budget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &budgetError{fmt.Sprintf("%s: expands to more than its budget (%d MiB for an archive of this size): a decompression bomb, not %s nestvirt reads", b.file, b.total>>20, b.what)}
	}
	if time.Now().After(b.deadline) {
		return 0, &budgetError{fmt.Sprintf("%s: reading it took longer than %s: not %s nestvirt reads", b.file, MaxReadTime, b.what)}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// readArchive streams an archive, keeping the members o keeps (of its one top
// directory, with OneTop). A member that would leave it, or is not a plain file, directory
// or symlink, is ignored; a truncated archive is an error.
func readArchive(t *Tree, file string, o Options) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(6)
	var r io.Reader = br
	var tail *xzTail
	switch {
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		tail = &xzTail{r: br}
		if r, err = xz.NewReader(tail); err != nil {
			return fmt.Errorf("%s: xz: %w", file, err)
		}
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		if r, err = gzip.NewReader(br); err != nil {
			return fmt.Errorf("%s: gzip: %w", file, err)
		}
	case bytes.HasPrefix(magic, []byte("BZh")):
		r = bzip2.NewReader(br)
	}
	// A decompression bomb (a few KiB that expand to gigabytes) is stopped by
	// what it expands to and by time, whichever comes first.
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	limit := min(MaxExpanded, MaxRatio*size+64<<20)
	what := o.What
	if what == "" {
		what = "an archive"
	}
	bud := &budget{r: r, total: limit, left: limit, deadline: time.Now().Add(MaxReadTime), file: file, what: what}
	r = bud
	tr := tar.NewReader(r)
	top, kept := "", 0
	for i := 0; ; i++ {
		if i > MaxFiles {
			return fmt.Errorf("%s: more than %d members; not %s nestvirt reads", file, MaxFiles, what)
		}
		h, err := tr.Next()
		if err == io.EOF {
			if i == 0 {
				return fmt.Errorf("%s: %w: an empty archive", file, ErrNotArchive)
			}
			// The compressed stream goes on past tar's end: read it to its own
			// end, where xz and gzip check their trailer and checksum.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return fmt.Errorf("%s: the archive is truncated or damaged after its last member: %w", file, err)
			}
			if tail != nil && !tail.ended() {
				return fmt.Errorf("%s: the archive is truncated: its xz stream has no index and footer (xz -t fails)", file)
			}
			return nil
		}
		var be *budgetError
		if errors.As(err, &be) {
			return be
		}
		if err != nil {
			if i == 0 {
				return fmt.Errorf("%s: %w, nor a directory: %w", file, ErrNotArchive, err)
			}
			return fmt.Errorf("%s: the archive is truncated or damaged (after %d members): %w", file, i, err)
		}
		name := clean(h.Name)
		if name == "" || name == "." {
			continue // ../ members: never followed out of the report
		}
		rest := name
		if o.OneTop {
			var first string
			first, rest, _ = strings.Cut(name, "/")
			if top == "" {
				top = first
				t.name = first
			}
			if first != top || rest == "" {
				continue // a report has one top directory
			}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if o.keepDir(rest) {
				t.addDir(rest)
			}
		case tar.TypeSymlink:
			if o.keep(rest) {
				t.add(rest, &node{mode: fs.ModeSymlink | 0o777, target: h.Linkname})
			}
		case tar.TypeReg:
			if !o.keep(rest) {
				continue
			}
			n := &node{mode: fs.FileMode(h.Mode).Perm(), size: h.Size}
			if h.Size > MaxFile || kept+int(h.Size) > MaxKept {
				n.tooBig = true // its bytes are skipped by the next Next
			} else {
				if n.data, err = io.ReadAll(io.LimitReader(tr, MaxFile)); err != nil {
					if errors.As(err, &be) {
						return be
					}
					return fmt.Errorf("%s: the archive is truncated or damaged at %s: %w", file, h.Name, err)
				}
				kept += len(n.data)
			}
			t.add(rest, n)
		}
	}
}

// xzTail watches the compressed bytes of an xz archive for its end: the last
// stream's footer (CRC32 of what follows it, the backward size and flags, then
// "YZ"), before any stream padding. ulikunitz/xz takes a stream that ends where
// a block ends (index and footer cut off) for a whole one (its pull request
// 83 is open), so the footer is checked here.
type xzTail struct {
	r     io.Reader
	win   []byte // the last 12 bytes up to the last non-zero byte
	zeros int    // zero bytes after it (stream padding)
}

func (x *xzTail) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	b := p[:n]
	if last := lastNonZero(b); last < 0 {
		x.zeros += len(b)
	} else {
		w := append(x.win, make([]byte, min(x.zeros, 12))...)
		w = append(w, b[:last+1]...)
		x.win = append(x.win[:0:0], w[max(0, len(w)-12):]...)
		x.zeros = len(b) - last - 1
	}
	return n, err
}

func lastNonZero(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}

// ended says whether what was read ends with an xz stream footer (and
// padding in whole 4-byte units).
func (x *xzTail) ended() bool {
	w := x.win
	return len(w) == 12 && x.zeros%4 == 0 && w[10] == 'Y' && w[11] == 'Z' &&
		crc32.ChecksumIEEE(w[4:10]) == binary.LittleEndian.Uint32(w[0:4])
}

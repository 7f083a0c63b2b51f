package probe

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// MaxFile bounds what is read of one file: /proc/cpuinfo of a 400-CPU machine is
// well under it, and a snapshot file larger than this is not a real one.
const MaxFile = 8 << 20

// Root is the one place every /proc, /sys and /etc read goes through. Its directory
// is "/" on a live machine, or a snapshot tree (nestvirt snapshot, test fixtures)
// laid out the same way. It records each path read, for snapshots.
type Root struct {
	dir string

	mu   sync.Mutex
	read map[string]bool // relative paths read or probed
}

// NewRoot returns a Root over dir ("/" for the live machine).
func NewRoot(dir string) *Root {
	return &Root{dir: filepath.Clean(dir), read: map[string]bool{}}
}

// Live reports whether the root is the running machine's.
func (r *Root) Live() bool { return r.dir == "/" }

// Dir is the root directory.
func (r *Root) Dir() string { return r.dir }

func (r *Root) abs(rel string) string { return filepath.Join(r.dir, filepath.FromSlash(rel)) }

func (r *Root) note(rel string) {
	r.mu.Lock()
	r.read[rel] = true
	r.mu.Unlock()
}

// ErrTooLarge is returned for files over MaxFile.
var ErrTooLarge = errors.New("file too large")

// ReadFile reads a file by its path relative to the root ("proc/cpuinfo").
func (r *Root) ReadFile(rel string) ([]byte, error) {
	r.note(rel)
	f, err := os.Open(r.abs(rel))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%s: %w (over %d MiB)", rel, ErrTooLarge, MaxFile>>20)
	}
	return data, nil
}

// ReadString reads a small sysfs-style file, trimmed.
func (r *Root) ReadString(rel string) (string, error) {
	b, err := r.ReadFile(rel)
	return strings.TrimSpace(string(b)), err
}

// Exists reports whether a path exists (without following a final symlink).
func (r *Root) Exists(rel string) bool {
	r.note(rel)
	_, err := os.Lstat(r.abs(rel))
	return err == nil
}

// Glob lists paths relative to the root matching a pattern.
func (r *Root) Glob(pattern string) []string {
	ms, _ := filepath.Glob(r.abs(pattern))
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		rel, err := filepath.Rel(r.dir, m)
		if err == nil {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	sort.Strings(out)
	return out
}

// Stat stats a path relative to the root.
func (r *Root) Stat(rel string) (fs.FileInfo, error) {
	r.note(rel)
	return os.Stat(r.abs(rel))
}

// Recorded lists every path read or probed, sorted.
func (r *Root) Recorded() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.read))
	for p := range r.read {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

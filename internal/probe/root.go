package probe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nestvirt/nestvirt/internal/archive"
	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// MaxFile bounds what is read of one file: /proc/cpuinfo of a 400-CPU machine is
// well under it, and a snapshot file larger than this is not a real one.
const MaxFile = 8 << 20

// State is what a tree says about a path.
type State uint8

// The states of a path.
const (
	// Unknown: the tree cannot say (a snapshot that did not capture it, a file this
	// user may not read, a FIFO where a file belongs).
	Unknown State = iota
	Absent        // the machine has no such path
	Present
)

func (s State) String() string { return [...]string{"unknown", "absent", "present"}[s] }

// ErrNotCaptured says a snapshot tree does not hold a path, so nothing is known of it.
var ErrNotCaptured = errors.New("not captured (by the snapshot or report)")

// ErrNotSnapshot is returned for a --root that holds nothing nestvirt recognises.
var ErrNotSnapshot = errors.New("not a snapshot")

// ManifestFile is where a snapshot records every path the probe looked at and
// what it found, so a replay tells "absent on the machine" from "not captured".
const ManifestFile = "nestvirt-snapshot.json"

// Manifest is a snapshot's record.
type Manifest struct {
	Format   int               `json:"format"`
	Nestvirt string            `json:"nestvirt"`
	Created  string            `json:"created"`
	Paths    map[string]string `json:"paths"`    // path -> file, dir, device, absent, unreadable
	Filtered map[string]string `json:"filtered"` // path -> what of it was kept
	// Complete says the tree holds every file of the machine the probe reads, so
	// a path not in it is absent: for trees written by hand to stand for a machine.
	Complete bool `json:"complete,omitempty"`
}

// Root is the one place every /proc, /sys and /etc read goes through: "/" on a live
// machine, or a snapshot tree laid out the same way. Reads are confined to the tree
// (fsroot). It records each path looked at, for snapshots.
type Root struct {
	t      Tree
	dir    *fsroot.Dir // the directory behind t, nil for a report
	report Report      // non-nil for a report (a sosreport)
	live   bool
	man    *Manifest
	tops   map[string]bool // top-level directories of a tree without a manifest

	mu   sync.Mutex
	seen map[string]Entry
	keep bool // keep the bytes of files read, for a snapshot
}

// Entry is what the probe found at a path: its kind and, for files read while
// recording, the bytes and mode.
type Entry struct {
	Kind string // file, dir, device, absent, unreadable, other
	Data []byte
	Mode fs.FileMode
}

// Tree is what a Root reads: a directory (fsroot.Dir), or a report of a machine
// laid out as its "/" (a sosreport, package sos).
type Tree interface {
	ReadFile(rel string, max int64) ([]byte, fs.FileInfo, error)
	Stat(rel string) (fs.FileInfo, error)
	Lstat(rel string) (fs.FileInfo, error)
	ReadDir(rel string) ([]fs.DirEntry, error)
	Glob(pattern string) []string
	Real(rel string) string // how a person names rel
	Close() error
}

// Report is a Tree that collected part of a machine and knows which part: a path
// it lacks is absent on the machine only where Absent says so, else unknown.
type Report interface {
	Tree
	Absent(rel string) bool
	Notes() []string // what the report lacks, said once
	// CollectedAt is when the report was collected, false when it does not say.
	CollectedAt() (time.Time, bool)
}

// OpenReport reads a machine through a report of it.
func OpenReport(r Report) *Root {
	return &Root{t: r, report: r, seen: map[string]Entry{}}
}

// recognised are paths whose presence makes a tree a snapshot: one of them must be
// there when there is no manifest.
var recognised = []string{"proc/cpuinfo", "proc/sys/kernel/arch", "etc/os-release", "usr/lib/os-release",
	"sys/class/dmi/id", "proc/sysinfo", "sys/module", "dev/kvm", "proc/device-tree", CPUIDFile, WindowsRegistry}

// OpenHostRoot opens the running machine's "/" mounted at dir (a container's
// view of its node): read as the live machine is (a missing file is absent;
// CPUID, from the same CPU, is read live), not as a snapshot.
func OpenHostRoot(dir string) (*Root, error) {
	d, err := fsroot.OpenHost(dir)
	if err != nil {
		return nil, err
	}
	return &Root{t: d, dir: d, live: true, seen: map[string]Entry{}}, nil
}

// OpenRoot opens "/" (the live machine), a snapshot tree, or a snapshot's tar
// archive (what nestvirt snapshot --tar writes, compressed or not), read into
// memory within the same bounds as a sosreport. A tree must hold a manifest or
// one of the files the probe reads; anything else is ErrNotSnapshot.
func OpenRoot(dir string) (*Root, error) {
	if st, err := os.Stat(dir); err == nil && st.Mode().IsRegular() {
		t, err := archive.Open(dir, archive.Options{What: "a nestvirt snapshot"})
		if err != nil {
			return nil, err
		}
		return snapshotRoot(&Root{t: t, seen: map[string]Entry{}}, dir, func() string { return "" })
	}
	d, err := fsroot.Open(dir)
	if err != nil {
		return nil, err
	}
	r := &Root{t: d, dir: d, live: d.Live(), seen: map[string]Entry{}}
	if r.live {
		return r, nil
	}
	return snapshotRoot(r, dir, func() string { return snapshotBelow(d, dir) })
}

// snapshotRoot reads a snapshot's manifest, or recognises one without it by
// the files it holds. hint says where one might be instead.
func snapshotRoot(r *Root, dir string, hint func() string) (*Root, error) {
	t := r.t
	data, _, err := t.ReadFile(ManifestFile, 4<<20)
	switch {
	case err == nil:
		var m Manifest
		if err := json.Unmarshal(data, &m); err != nil || m.Format != 1 || m.Paths == nil {
			t.Close()
			return nil, fmt.Errorf("%s is not a nestvirt snapshot manifest", ManifestFile)
		}
		r.man = &m
		return r, nil
	case !errors.Is(err, fs.ErrNotExist):
		t.Close()
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	r.tops = map[string]bool{}
	if ents, err := t.ReadDir("."); err == nil {
		for _, e := range ents {
			r.tops[e.Name()] = true
		}
	}
	for _, p := range recognised {
		if _, err := t.Lstat(p); err == nil {
			return r, nil
		}
	}
	h := hint()
	t.Close()
	return nil, fmt.Errorf("%w: it holds none of the files nestvirt reads (%s) and no %s%s", ErrNotSnapshot, strings.Join(recognised[:4], ", "), ManifestFile, h)
}

// snapshotBelow finds a snapshot one directory down (nestvirt snapshot's own
// layout puts the tree in DIR/root), as a hint: "; did you mean DIR/root?".
func snapshotBelow(d *fsroot.Dir, dir string) string {
	ents, err := d.ReadDir(".")
	if err != nil {
		return ""
	}
	for i, e := range ents {
		if i == 64 {
			break // a hint, not a search
		}
		if !e.IsDir() {
			continue
		}
		for _, p := range append([]string{ManifestFile}, recognised...) {
			if _, err := d.Lstat(e.Name() + "/" + p); err == nil {
				return fmt.Sprintf("; did you mean %s?", filepath.Join(dir, e.Name()))
			}
		}
	}
	return ""
}

// Close releases the tree.
func (r *Root) Close() error { return r.t.Close() }

// Notes is what a report lacks, said once (nil for a tree).
func (r *Root) Notes() []string {
	if r.report == nil {
		return nil
	}
	return r.report.Notes()
}

// Live reports whether the root is the running machine's.
func (r *Root) Live() bool { return r.live }

// Lstat describes rel itself (a symlink is not followed), as the tree holds it.
func (r *Root) Lstat(rel string) (fs.FileInfo, error) { return r.t.Lstat(rel) }

// Real is how a person names a path of the tree.
func (r *Root) Real(rel string) string { return r.t.Real(rel) }

// ReadAt is when the machine the tree holds was read: a snapshot's time, a
// report's collection; false for the live machine (it is read now) and for a
// tree that does not say.
func (r *Root) ReadAt() (time.Time, bool) {
	switch {
	case r.report != nil:
		return r.report.CollectedAt()
	case r.man != nil:
		t, err := time.Parse(time.RFC3339, r.man.Created)
		return t, err == nil
	}
	return time.Time{}, false
}

// Manifest is the snapshot's record, nil for the live machine or a plain tree.
func (r *Root) Manifest() *Manifest { return r.man }

// Keep makes the root keep the bytes of every file read, for a snapshot.
func (r *Root) Keep() {
	r.mu.Lock()
	r.keep = true
	r.mu.Unlock()
}

func (r *Root) record(rel string, e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.keep {
		e.Data = nil
	}
	if old, ok := r.seen[rel]; ok && old.Kind == "file" && e.Kind != "file" {
		return // a file read beats a later existence check of the same path
	}
	r.seen[rel] = e
}

// Recorded lists every path looked at, with what was found, sorted by path.
func (r *Root) Recorded() ([]string, map[string]Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Entry, len(r.seen))
	var paths []string
	for p, e := range r.seen {
		out[p] = e
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, out
}

// missing decides what a path that is not in the tree means: absent on the
// machine, or not captured. A manifest says so; without one, a path whose top-level
// directory the tree holds (proc, sys, dev, etc) is absent, and any other is unknown.
func (r *Root) missing(rel string) State {
	if r.live {
		return Absent
	}
	if r.report != nil {
		if r.report.Absent(rel) {
			return Absent
		}
		return Unknown
	}
	if r.man != nil {
		if r.man.Complete {
			return Absent
		}
		for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
			if r.man.Paths[p] == "absent" {
				return Absent
			}
		}
		return Unknown
	}
	top := strings.SplitN(rel, "/", 2)[0]
	if !strings.Contains(rel, "/") || r.tops[top] {
		return Absent
	}
	return Unknown
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Read reads a file. It returns the data and Present; nil and Absent when the
// machine has no such file; nil, Unknown and the reason otherwise.
func (r *Root) Read(rel string) ([]byte, State, error) {
	if r.man != nil {
		switch r.man.Paths[rel] {
		case "unreadable":
			r.record(rel, Entry{Kind: "unreadable"})
			return nil, Unknown, fmt.Errorf("%s: it could not be read when the snapshot was taken", rel)
		case "device", "dir":
			r.record(rel, Entry{Kind: r.man.Paths[rel]})
			return nil, Unknown, fmt.Errorf("%s: %w (a %s)", rel, fsroot.ErrNotRegular, r.man.Paths[rel])
		}
	}
	data, st, err := r.t.ReadFile(rel, MaxFile)
	if err == nil {
		r.record(rel, Entry{Kind: "file", Data: data, Mode: st.Mode().Perm()})
		return data, Present, nil
	}
	if notExist(err) {
		s := r.missing(rel)
		if s == Absent {
			r.record(rel, Entry{Kind: "absent"})
			return nil, Absent, nil
		}
		return nil, Unknown, fmt.Errorf("%s: %w", rel, ErrNotCaptured)
	}
	kind := "unreadable"
	if errors.Is(err, fsroot.ErrNotRegular) && st != nil {
		kind = "other"
		if st.Mode()&fs.ModeDevice != 0 {
			kind = "device"
		} else if st.IsDir() {
			kind = "dir"
		}
	}
	r.record(rel, Entry{Kind: kind})
	return nil, Unknown, err
}

// Exists says whether a path is there (a file, a directory, a device).
func (r *Root) Exists(rel string) (State, error) {
	if r.man != nil {
		switch r.man.Paths[rel] {
		case "unreadable":
			return Unknown, fmt.Errorf("%s: it could not be examined when the snapshot was taken", rel)
		case "device", "dir", "file":
			r.record(rel, Entry{Kind: r.man.Paths[rel]})
			return Present, nil
		}
	}
	st, err := r.t.Stat(rel)
	if err == nil {
		kind := "file"
		switch {
		case st.IsDir():
			kind = "dir"
		case st.Mode()&fs.ModeDevice != 0:
			kind = "device"
		case !st.Mode().IsRegular():
			kind = "other"
		}
		r.record(rel, Entry{Kind: kind, Mode: st.Mode().Perm()})
		return Present, nil
	}
	if notExist(err) {
		if s := r.missing(rel); s == Absent {
			r.record(rel, Entry{Kind: "absent"})
			return Absent, nil
		}
		return Unknown, fmt.Errorf("%s: %w", rel, ErrNotCaptured)
	}
	r.record(rel, Entry{Kind: "unreadable"})
	return Unknown, err
}

// Glob lists the paths that match a slash pattern whose wildcards are in its last
// component, and what is known of the directory that holds them.
func (r *Root) Glob(pattern string) ([]string, State) {
	dir := path.Dir(pattern)
	s, _ := r.Exists(dir)
	if s != Present {
		return nil, s
	}
	return r.t.Glob(pattern), Present
}

// OpenDevice reports whether this user may open a device read-write (dev/kvm). It
// is asked of the live machine only; a snapshot cannot say.
func (r *Root) OpenDevice(rel string) (bool, error) {
	if !r.live {
		return false, errors.New("not the live machine")
	}
	err := r.dir.OpenDevice(rel, os.O_RDWR)
	return err == nil, err
}

// A Windows snapshot keeps what check reads on Windows as files, read back the
// same way: the registry keys as a `reg export` file, and the outputs of the CIM
// query, wsl --status and .wslconfig as they were. cpuid.txt is at the top, as on
// Linux.
const (
	WindowsDir        = "windows"
	WindowsRegistry   = WindowsDir + "/registry.reg"
	WindowsCIM        = WindowsDir + "/cim.json"
	WindowsWSLStatus  = WindowsDir + "/wsl-status.txt"
	WindowsWSLConfig  = WindowsDir + "/wslconfig"
	WindowsHostConfig = WindowsDir + "/host.yaml"
)

// CPUIDFile is where a snapshot keeps the CPUID leaves.
const CPUIDFile = "cpuid.txt"

// ShortErr is an error without the path a note already names: the cause alone.
func ShortErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	s := err.Error()
	// "rel: not a regular file (a FIFO)": the path is the note's own prefix.
	if i := strings.Index(s, ": "); i >= 0 && !strings.ContainsAny(s[:i], " (") {
		return s[i+2:]
	}
	return s
}

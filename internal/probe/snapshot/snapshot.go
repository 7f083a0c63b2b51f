// Package snapshot takes a snapshot of the machine nestvirt runs on and writes
// it, as a directory or one tar archive.
package snapshot

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/identity"
	"github.com/nestvirt/nestvirt/internal/probe/linux"
)

// A snapshot holds what `nestvirt check` read of a machine, laid out as under "/",
// so `check --root` replays it, plus cpuid.txt and a manifest of every path looked
// at and what was found there (so a replay tells "absent" from "not captured"). It
// is made to be attached to a bug report: of each file it keeps only what the probe
// needs (filters below), and no file is more readable than on the machine.

// filters keep only what the probe reads from files that may hold secrets.
var filters = map[string]struct {
	kept string
	fn   func([]byte) []byte
}{
	"proc/1/environ": {"only the container= variable", func(b []byte) []byte {
		var out []string
		for _, kv := range strings.Split(string(b), "\x00") {
			if strings.HasPrefix(kv, "container=") {
				out = append(out, kv)
			}
		}
		if len(out) == 0 {
			return []byte{}
		}
		return []byte(strings.Join(out, "\x00") + "\x00")
	}},
	"proc/cmdline": {"only init=, rdinit= and KVM module parameters", func(b []byte) []byte {
		var out []string
		for _, w := range strings.Fields(string(b)) {
			if w == "--" {
				break // the init's own arguments
			}
			k, _, _ := strings.Cut(w, "=")
			if k == "init" || k == "rdinit" || (strings.HasPrefix(k, "kvm") && strings.Contains(k, ".")) {
				out = append(out, w)
			}
		}
		return []byte(strings.Join(out, " ") + "\n")
	}},
	"proc/1/cmdline": {"only the program (argv[0])", func(b []byte) []byte {
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return append([]byte(nil), b[:i+1]...)
		}
		return b
	}},
	"sys/class/dmi/id/chassis_asset_tag": {"only a cloud's own tag (Azure, Oracle Cloud)", func(b []byte) []byte {
		if identity.CloudAssetTag(strings.TrimSpace(string(b))) {
			return b
		}
		return []byte("(not recorded)\n")
	}},
	"etc/machine-id":                {"only nestvirt's ID derived from it (machine-id(5): the ID itself is confidential)", derivedID},
	"sys/class/dmi/id/product_uuid": {"only nestvirt's ID derived from it", derivedID},
	"sys/firmware/dmi/entries/0-0/raw": {"only the first 20 bytes (the SMBIOS VM bit)", func(b []byte) []byte {
		return b[:min(len(b), 20)]
	}},
}

// derivedID keeps nestvirt's ID in place of the machine's own, marked so the
// probe takes it as it is.
func derivedID(b []byte) []byte {
	if id, ok := probe.MachineIDOf(string(b)); ok {
		return []byte(probe.DerivedIDPrefix + id + "\n")
	}
	return []byte{}
}

// Files is a snapshot in memory, before it is written.
type Files struct {
	Facts    probe.Facts
	Manifest probe.Manifest
	Files    []File
	Notes    []string // what could not be copied
}

// Partial lists, sorted, each file of which only a part was kept, with what
// was kept ("/proc/cmdline (init=, rdinit= and KVM module parameters)"): what
// to review before the snapshot is shared.
func (s *Files) Partial() []string {
	var kept []string
	for p, what := range s.Manifest.Filtered {
		kept = append(kept, p+" ("+what+")")
	}
	slices.Sort(kept)
	return kept
}

// File is one file of a snapshot.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
}

// Take probes the live Linux machine and collects the snapshot of it.
func Take(version string, now time.Time) (*Files, error) {
	root, err := probe.OpenRoot("/")
	if err != nil {
		return nil, err
	}
	defer root.Close()
	root.Keep()
	cpu := probe.ReadLive()
	facts, _ := linux.Probe(root, cpu) // a bad host.yaml is copied as it is, and noted
	s := &Files{Facts: facts, Manifest: probe.Manifest{Format: 1, Nestvirt: version, Created: now.UTC().Format(time.RFC3339),
		Paths: map[string]string{}, Filtered: map[string]string{}}}
	paths, seen := root.Recorded()
	for _, p := range paths {
		e := seen[p]
		s.Manifest.Paths[p] = e.Kind
		switch e.Kind {
		case "file":
			data := e.Data
			if f, ok := filters[p]; ok {
				data = f.fn(data)
				s.Manifest.Filtered[p] = f.kept
			}
			// Never wider than the source; never writable by others, never executable.
			s.Files = append(s.Files, File{Path: p, Data: data, Mode: e.Mode & 0o644})
		case "unreadable":
			s.Notes = append(s.Notes, p+": could not be read; recorded as unreadable")
		}
	}
	if len(cpu) > 0 {
		s.Files = append(s.Files, File{Path: probe.CPUIDFile, Data: cpu.Text(), Mode: 0o644})
	}
	man, err := json.MarshalIndent(s.Manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	s.Files = append(s.Files, File{Path: probe.ManifestFile, Data: append(man, '\n'), Mode: 0o644})
	return s, nil
}

// WriteDir writes the snapshot into dst. dst is created; an existing dst must be an
// empty directory (not a symlink) owned by this user. Every file is created new
// through os.Root on dst, so nothing planted in dst can redirect a write.
func (s *Files) WriteDir(dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		st, err := os.Lstat(dst)
		if err != nil {
			return err
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symlink; give a new directory", dst)
		case !st.IsDir():
			return fmt.Errorf("%s exists and is not a directory", dst)
		case fsroot.Owner(st) >= 0 && fsroot.Owner(st) != os.Geteuid():
			return fmt.Errorf("%s belongs to another user; give a new directory", dst)
		}
		ents, err := os.ReadDir(dst)
		if err != nil {
			return err
		}
		if len(ents) > 0 {
			return fmt.Errorf("%s: directory is not empty; a snapshot needs a new one", dst)
		}
	}
	return s.writeFiles(dst)
}

// writeFiles creates every file new through os.Root on dst.
func (s *Files) writeFiles(dst string) error {
	d, err := fsroot.Open(dst)
	if err != nil {
		return err
	}
	defer d.Close()
	for _, f := range s.Files {
		if dir := path.Dir(f.Path); dir != "." {
			if err := d.MkdirAll(dir, 0o755); err != nil {
				return err
			}
		}
		if err := d.CreateNew(f.Path, f.Data, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

// WriteTar writes the snapshot as one tar archive.
func (s *Files) WriteTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	mtime, _ := time.Parse(time.RFC3339, s.Manifest.Created)
	dirs := map[string]bool{}
	for _, f := range s.Files {
		for dir := path.Dir(f.Path); dir != "."; dir = path.Dir(dir) {
			if dirs[dir] {
				break
			}
			dirs[dir] = true
		}
	}
	var sorted []string
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for _, f := range s.Files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: int64(f.Mode), Size: int64(len(f.Data)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}

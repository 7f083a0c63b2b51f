package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Snapshot probes the live machine and copies every file the probe read into dst
// (same relative paths), plus cpuid.txt with the CPUID leaves, so that
// `nestvirt check --root dst` replays this machine. dst must not exist or be empty.
// Paths that existed but could not be copied (devices, unreadable files) are
// returned as notes; a device such as dev/kvm is kept as an empty marker file.
func Snapshot(dst string) (Facts, []string, error) {
	if ents, err := os.ReadDir(dst); err == nil && len(ents) > 0 {
		return Facts{}, nil, fmt.Errorf("%s: directory is not empty; a snapshot needs a new one", dst)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Facts{}, nil, err
	}
	root := NewRoot("/")
	cpu := ReadLive()
	facts := Probe(root, cpu)
	var notes []string
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return facts, nil, err
	}
	for _, rel := range root.Recorded() {
		src := filepath.Join("/", rel)
		// Follow symlinks (/etc/os-release usually is one): the snapshot holds what
		// the probe read through them, as plain files and directories.
		st, err := os.Stat(src)
		if err != nil {
			continue // absent on this machine: absent in the snapshot too
		}
		to := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return facts, notes, err
		}
		switch {
		case st.IsDir():
			err = os.MkdirAll(to, 0o755)
		case st.Mode().IsRegular():
			data, rerr := root.ReadFile(rel)
			if rerr != nil {
				notes = append(notes, fmt.Sprintf("%s: not copied: %s", rel, shortErr(rerr)))
				continue
			}
			err = os.WriteFile(to, data, 0o644)
		default:
			// Devices and other special files: an empty file says "it exists".
			err = os.WriteFile(to, nil, 0o644)
		}
		if err != nil {
			return facts, notes, err
		}
	}
	if len(cpu) > 0 {
		if err := os.WriteFile(filepath.Join(dst, CPUIDFile), cpu.Text(), 0o644); err != nil {
			return facts, notes, err
		}
	}
	return facts, notes, nil
}

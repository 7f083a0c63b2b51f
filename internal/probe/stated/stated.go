// Package stated reads what an admin states because nestvirt cannot read it
// (/etc/nestvirt/host.yaml): whether this host's VMs are live-migrated, and,
// inside a guest, the OS of the L0 at the bottom of its chain.
package stated

import (
	"fmt"
	"io/fs"
	"os"
	"path"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

// HostConfig is where an admin states what nestvirt cannot read: whether this
// host's VMs are live-migrated, and for a guest, the L0 it runs on.
const HostConfig = "etc/nestvirt/host.yaml"

// HostConfigKeys says in a line what host.yaml holds, for the man pages: the
// keys as Parse reads them (a test parses every example the documentation
// gives).
const HostConfigKeys = "migration: true or false (this host's VMs are live-migrated or not), and on a guest l0: {os: rhel10.0} (the OS of the L0 below it)"

// HostConfigExample is the file as `nestvirt check --help` shows it.
const HostConfigExample = `# /etc/nestvirt/host.yaml: what nestvirt cannot read on this host
migration: false        # true when this host's VMs are live-migrated
l0:
  os: rhel10.0          # inside a guest: the OS of the L0 host at the bottom
`

// Error is a host.yaml nestvirt cannot use; the facts from it stay unknown.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// As makes an Error bad input (fault.Input): the file is what was given.
func (e *Error) As(target any) bool {
	if t, ok := target.(*fault.Input); ok {
		*t = fault.Input{Err: e}
		return true
	}
	return false
}

// Read reads root's host.yaml. Nothing stated is no error; a file that is not
// valid is an Error (bad input, which a command reports after judging), its
// facts unknown, and a note says why; one another user could have written is
// only a note. Notes are those of reading the file.
func Read(root *probe.Root) (s probe.Stated, notes []string, err *Error) {
	s = probe.Stated{From: []string{}}
	data, st, rerr := root.Read(HostConfig)
	if st != probe.Present {
		if st == probe.Unknown && rerr != nil {
			notes = append(notes, HostConfig+": "+probe.ShortErr(rerr)+"; stated facts (migration, L0 OS) unknown")
		}
		return s, notes, nil
	}
	// A file another user could have written is ignored, as documented: a
	// note, not an error; the facts it would state stay unknown, and nothing
	// stops (docs/SECURITY.md, "Only root's files drive root's actions").
	if terr := trusted(root, HostConfig); terr != nil {
		return s, append(notes, fmt.Sprintf("%s: not used: %s; the facts it states (migration, L0 OS) are unknown", HostConfig, terr)), nil
	}
	parsed, perr := Parse(root.Real(HostConfig), data)
	if perr != nil {
		return s, append(notes, fmt.Sprintf("%s: not used: %s", HostConfig, perr)), &Error{Err: perr}
	}
	return parsed, notes, nil
}

// trusted says why root must not act on rel, a file of the live machine: it or
// a directory above it is another user's or writable by others. Only root is
// asked (the guard's hook runs as root): root acts on root's files alone.
func trusted(root *probe.Root, rel string) error {
	if !root.Live() || os.Geteuid() != 0 {
		return nil
	}
	for r := rel; r != "." && r != ""; r = path.Dir(r) {
		st, err := root.Lstat(r)
		if err != nil {
			return err
		}
		if owner := fsroot.Owner(st); owner > 0 {
			return fmt.Errorf("%s belongs to uid %d, not root: its statements are ignored (root acts only on root's files)", root.Real(r), owner)
		}
		if st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 && st.Mode()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s is writable by its group or others (mode %v): its statements are ignored (root acts only on root's files)", root.Real(r), st.Mode().Perm())
		}
	}
	return nil
}

// Parse reads host.yaml. Every problem is reported with its line.
func Parse(file string, data []byte) (probe.Stated, error) {
	s := probe.Stated{From: []string{}}
	doc, root, err := strictyaml.Parse(file, data)
	if err != nil {
		return s, err
	}
	top := root.Map("migration", "l0")
	if v, ok := top["migration"].Bool(); ok {
		s.Migration = &v
		s.From = append(s.From, fmt.Sprintf("migration: %s:%d", file, top["migration"].Line()))
	}
	l0 := top["l0"].Map("os")
	if name, ok := l0["os"].StringMax(osid.MaxName); ok {
		if o, err := osid.Parse(name); err != nil {
			l0["os"].Errorf("%s", err)
		} else {
			s.L0OS = &o.ID
			s.From = append(s.From, fmt.Sprintf("l0.os: %s:%d", file, l0["os"].Line()))
		}
	}
	return s, doc.Err()
}

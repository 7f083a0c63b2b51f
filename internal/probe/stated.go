package probe

import (
	"fmt"
	"io/fs"
	"os"
	"path"

	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

// HostConfig is where an admin states what nestvirt cannot read: whether this
// host's VMs are live-migrated, and for a guest, the L0 it runs on.
const HostConfig = "etc/nestvirt/host.yaml"

// HostConfigExample is the file as `nestvirt check --help` shows it.
const HostConfigExample = `# /etc/nestvirt/host.yaml: what nestvirt cannot read on this host
migration: false        # true when this host's VMs are live-migrated
l0:
  os: rhel10.0          # inside a guest: the OS of the L0 host at the bottom
`

// StatedError is a host.yaml nestvirt cannot use; the facts from it stay unknown.
type StatedError struct{ Err error }

func (e *StatedError) Error() string { return e.Err.Error() }
func (e *StatedError) Unwrap() error { return e.Err }

func (p *prober) stated() {
	data, st := p.read(HostConfig, "stated facts (migration, L0 OS)")
	if st != Present {
		return
	}
	if err := p.trusted(HostConfig); err != nil {
		p.statedErr = &StatedError{err}
		p.note(fmt.Sprintf("%s: not used: %v", HostConfig, err))
		return
	}
	s, err := ParseStated(p.root.Real(HostConfig), data)
	if err != nil {
		p.statedErr = &StatedError{err}
		p.note(fmt.Sprintf("%s: not used: %v", HostConfig, err))
		return
	}
	p.f.Stated = s
}

// trusted says why root must not act on rel, a file of the live machine: it or
// a directory above it is another user's or writable by others. Only root is
// asked (the guard's hook runs as root): root acts on root's files alone.
func (p *prober) trusted(rel string) error {
	if !p.root.Live() || os.Geteuid() != 0 {
		return nil
	}
	for r := rel; r != "." && r != ""; r = path.Dir(r) {
		st, err := p.root.t.Lstat(r)
		if err != nil {
			return err
		}
		if owner := fsroot.Owner(st); owner > 0 {
			return fmt.Errorf("%s belongs to uid %d, not root: its statements are ignored (root acts only on root's files)", p.root.Real(r), owner)
		}
		if st.Mode().Perm()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0 && st.Mode()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s is writable by its group or others (mode %v): its statements are ignored (root acts only on root's files)", p.root.Real(r), st.Mode().Perm())
		}
	}
	return nil
}

// ParseStated reads host.yaml. Every problem is reported with its line.
func ParseStated(file string, data []byte) (Stated, error) {
	s := Stated{From: []string{}}
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

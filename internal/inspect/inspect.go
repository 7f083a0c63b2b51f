// Package inspect reads one machine from where it is named: this machine, a
// snapshot of one, this machine's / mounted in a container (a DaemonSet's node),
// or a sosreport. It applies what the admin stated over the machine's host.yaml,
// and says where and when the machine was read and what nestvirt recorded there.
// It is the first step of check and vms; judging follows (judge, audit).
//
// One machine per answer: a source is one machine, so two sources at once, or a
// snapshot with this machine's VMs, are refused (Source.Check).
package inspect

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/machine"
	"github.com/nestvirt/nestvirt/internal/probe/snapshot"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
	"github.com/nestvirt/nestvirt/internal/recorded"
	"github.com/nestvirt/nestvirt/internal/sos"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

// HostConfig is the file, under a machine's root, in which the admin states
// what cannot be read (host.yaml); HostConfigExample shows it.
const (
	HostConfig        = stated.HostConfig
	HostConfigExample = stated.HostConfigExample
)

// UnusableHostYAML says whether err is (or holds) a host.yaml that cannot be
// used: its statements are unknown, and what was probed still stands.
func UnusableHostYAML(err error) bool {
	se := (*stated.Error)(nil)
	return errors.As(err, &se)
}

// Source is where a machine is read from, as the flags of check and vms name it:
// at most one of a snapshot (Root other than "/"), HostRoot and Sos; none is
// this machine, now.
type Source struct {
	Root     string // a snapshot directory or the tar file 'snapshot --tar' wrote; "" or "/" is this machine
	HostRoot string // this machine's / mounted here, as a container of a DaemonSet sees its node
	Sos      string // a sosreport: its directory or its archive
}

// Snapshot is the snapshot's path, or "" for none.
func (s Source) Snapshot() string {
	if s.Root == "/" {
		return ""
	}
	return s.Root
}

// Check refuses a source that is not one machine: two sources given at once,
// or (vms) a snapshot with the VMs libvirt lists, which are this machine's now.
// Its errors are marked fault.Input.
func (s Source) Check(vms bool) error {
	n := 0
	for _, set := range []bool{s.Snapshot() != "", s.HostRoot != "", s.Sos != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return fault.Inputf("--root, --host-root and --sos: give one of them")
	case vms && s.Snapshot() != "":
		return fault.Inputf("--vms with --root: the snapshot's VMs are not in it, and this machine's are not the snapshot's; run 'nestvirt check --vms' on the machine itself, or 'nestvirt vms --root %s' to judge this host's VMs as if they ran there", s.Root)
	}
	return nil
}

// Statements are what the admin states on the command line (--migrates,
// --l0-os), over what host.yaml states.
type Statements struct {
	Migrates string // "yes", "no" or "" (not stated)
	L0OS     string // a libosinfo short id, or ""
}

// Apply puts the statements over st, saying where each came from.
func (s Statements) Apply(st *probe.Stated) error {
	switch s.Migrates {
	case "":
	case "yes", "no":
		v := s.Migrates == "yes"
		st.Migration = &v
		st.From = append(st.From, "migration: --migrates "+s.Migrates)
	default:
		return fmt.Errorf("--migrates %q: give yes or no", s.Migrates)
	}
	if s.L0OS != "" {
		o, err := osid.Parse(s.L0OS)
		if err != nil {
			return fmt.Errorf("--l0-os: %w", err)
		}
		st.L0OS = &o.ID
		st.From = append(st.From, "l0.os: --l0-os "+s.L0OS)
	}
	return nil
}

// Machine is one machine as read.
type Machine struct {
	Facts  probe.Facts
	Origin doc.Origin
	// At is when the facts were read, RFC 3339 in UTC: now for this machine or a
	// mounted node, a snapshot's or a report's own time; nil when not known.
	At *string
	// Recorded is what nestvirt recorded on the host into the sosreport read;
	// nil for any other source, or a report without it.
	Recorded *recorded.Record
	// Report is the sosreport read, for its domains; nil for any other source.
	Report *sos.Report
}

// Read reads the machine src names (refusing two at once), with st over its
// host.yaml; now is the time of a live reading. A host.yaml that cannot be used costs only what it
// states: the machine is returned, read without it, with a *stated.Error. Any
// other error is the source's (it cannot be opened or read, or a statement is
// not valid). Either is caused by what was given: marked fault.Input.
func Read(src Source, st Statements, now time.Time) (Machine, error) {
	m, err := read(src, st, now)
	if err != nil {
		return m, fault.Input{Err: err}
	}
	return m, nil
}

func read(src Source, st Statements, now time.Time) (Machine, error) {
	if err := src.Check(false); err != nil {
		return Named(Source{}, now), err
	}
	m := Named(src, now)
	var r *probe.Root
	var err error
	switch {
	case src.HostRoot != "":
		if r, err = probe.OpenHostRoot(src.HostRoot); err != nil {
			return m, fmt.Errorf("--host-root %s: %w", src.HostRoot, err)
		}
	case src.Sos != "":
		if m.Report, err = sos.Open(src.Sos); err != nil {
			return m, fmt.Errorf("--sos %s: %w", src.Sos, err)
		}
		r = probe.OpenReport(m.Report)
		m.Recorded = recorded.Read(m.Report.Files(recorded.Dir))
	default:
		if r, err = probe.OpenRoot(cmp.Or(src.Snapshot(), "/")); err != nil {
			return m, fmt.Errorf("--root %s: %w", cmp.Or(src.Snapshot(), "/"), err)
		}
	}
	defer r.Close()
	if m.At == nil {
		if t, ok := r.ReadAt(); ok {
			m.At = stamp(t)
		}
	}
	m.Facts, err = machine.Probe(r)
	var soft *stated.Error
	if err != nil && !errors.As(err, &soft) {
		// The probe notes what it could not read; only host.yaml fails it.
		soft = nil
	}
	if err := st.Apply(&m.Facts.Stated); err != nil {
		return m, err
	}
	if soft != nil {
		return m, soft
	}
	return m, nil
}

// Snapshot takes a snapshot of this machine, which Read reads back as the
// source Root names: the files the probe reads (filtered where they hold more
// than it needs) and a manifest of every path it looked at.
func Snapshot(version string, now time.Time) (*snapshot.Files, error) {
	return machine.Snapshot(version, now)
}

// Named is the machine src names before it is read: where it is, and for
// this machine or a mounted node (read now) when.
func Named(src Source, now time.Time) Machine {
	switch {
	case src.HostRoot != "":
		return Machine{Origin: origin(doc.OriginHostRoot, src.HostRoot), At: stamp(now)}
	case src.Sos != "":
		return Machine{Origin: origin(doc.OriginSosreport, src.Sos)}
	case src.Snapshot() != "":
		return Machine{Origin: origin(doc.OriginSnapshot, src.Root)}
	}
	return Machine{Origin: doc.Origin{Kind: doc.OriginLive}, At: stamp(now)}
}

// Reader is Read put off until it is called (audit asks for the facts of a
// daemon's host only when that host is this machine, or a snapshot stands for
// it): each call reads src into *m and gives its facts.
func Reader(m *Machine, src Source, st Statements, now time.Time) func() (probe.Facts, error) {
	return func() (probe.Facts, error) {
		var err error
		*m, err = Read(src, st, now)
		return m.Facts, err
	}
}

// Known gives the facts m holds, already read, where a reader is asked for.
func (m Machine) Known() func() (probe.Facts, error) {
	return func() (probe.Facts, error) { return m.Facts, nil }
}

// HostFacts are the facts of this machine (root "/") or of the snapshot at
// root, with nothing stated on the command line; errors as Read's.
func HostFacts(root string) (probe.Facts, error) {
	m, err := Read(Source{Root: root}, Statements{}, time.Now())
	return m.Facts, err
}

// RemedyFacts are the host facts an action (enable, disable, expose) decides
// with. A host.yaml that is not valid never blocks the remedy check gives: it
// costs only the facts it would state, and note says so (as the guard does).
func RemedyFacts(root string) (f probe.Facts, note string, err error) {
	f, err = HostFacts(root)
	if UnusableHostYAML(err) {
		return f, OneLine(err) + "; what it states is unknown here", nil
	}
	return f, "", err
}

// RemoteStated is what was stated for another daemon's host: hostConfig (that
// host's host.yaml, given here; "" for none) and st over it. This machine's own
// host.yaml is never read for another host. Errors are marked fault.Input.
func RemoteStated(hostConfig string, st Statements) (probe.Stated, error) {
	s, err := remoteStated(hostConfig, st)
	if err != nil {
		return s, fault.Input{Err: err}
	}
	return s, nil
}

func remoteStated(hostConfig string, st Statements) (probe.Stated, error) {
	s := probe.Stated{From: []string{}}
	if hostConfig != "" {
		data, err := fsroot.ReadNamed(hostConfig, strictyaml.MaxBytes)
		if err != nil {
			return probe.Stated{}, fmt.Errorf("--host-config: %w", err)
		}
		if s, err = stated.Parse(hostConfig, data); err != nil {
			return probe.Stated{}, err
		}
	}
	if err := st.Apply(&s); err != nil {
		return probe.Stated{}, err
	}
	return s, nil
}

// OneLine is an error's message on one line (a host.yaml's problems are one per
// line).
func OneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

func origin(kind doc.OriginKind, path string) doc.Origin {
	return doc.Origin{Kind: kind, Path: &path}
}

func stamp(t time.Time) *string {
	s := t.UTC().Format(time.RFC3339)
	return &s
}

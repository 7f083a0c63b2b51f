package windows

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/nestvirt/nestvirt/internal/probe"
)

// IsSnapshot says whether root holds a Windows machine's snapshot.
func IsSnapshot(root *probe.Root) bool {
	if root.Live() {
		return false
	}
	st, _ := root.Exists(probe.WindowsRegistry)
	return st == probe.Present
}

// windowsSnapshot reads a Windows snapshot through its Root.
type windowsSnapshot struct {
	root   *probe.Root
	reg    *Registry
	regErr error
}

// openSnapshot reads root's registry export; the notes are its lines that
// could not be read.
func openSnapshot(root *probe.Root) (Source, []string) {
	s := &windowsSnapshot{root: root}
	data, err := s.read(probe.WindowsRegistry)
	if err != nil {
		s.regErr = err
		return s, nil
	}
	reg, notes, err := ParseRegFile(data)
	for i, n := range notes {
		notes[i] = probe.WindowsRegistry + ": " + n
	}
	if err != nil {
		s.regErr = fmt.Errorf("%s: %w", probe.WindowsRegistry, err)
		notes = append(notes, s.regErr.Error()+"; every registry fact is unknown")
	}
	s.reg = reg
	return s, notes
}

func (s *windowsSnapshot) read(rel string) ([]byte, error) {
	data, st, err := s.root.Read(rel)
	switch st {
	case probe.Present:
		return data, nil
	case probe.Absent:
		return nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	return nil, err
}

func (s *windowsSnapshot) RegValue(key, name string) (RegValue, error) {
	if s.reg == nil {
		return RegValue{}, s.regErr
	}
	return s.reg.Value(key, name)
}

func (s *windowsSnapshot) RegSubkeys(key string) ([]string, error) {
	if s.reg == nil {
		return nil, s.regErr
	}
	return s.reg.Subkeys(key)
}

func (s *windowsSnapshot) CIM(context.Context) ([]byte, error) { return s.read(probe.WindowsCIM) }
func (s *windowsSnapshot) WSLStatus(context.Context) ([]byte, error) {
	return s.read(probe.WindowsWSLStatus)
}
func (s *windowsSnapshot) WSLConfig() ([]byte, error) { return s.read(probe.WindowsWSLConfig) }
func (s *windowsSnapshot) HostConfig() ([]byte, string, error) {
	data, err := s.read(probe.WindowsHostConfig)
	return data, s.root.Real(probe.WindowsHostConfig), err
}
func (s *windowsSnapshot) Live() bool { return false }

// ProbeSnapshot reads a Windows machine's snapshot (windows/registry.reg).
func ProbeSnapshot(root *probe.Root) (probe.Facts, error) {
	src, notes := openSnapshot(root)
	var cpu probe.CPUID
	data, st, err := root.Read(probe.CPUIDFile)
	switch {
	case st == probe.Present:
		var n []string
		cpu, n = probe.ParseCPUIDText(data)
		notes = append(notes, n...)
	case err != nil:
		notes = append(notes, probe.CPUIDFile+": "+probe.ShortErr(err))
	default:
		notes = append(notes, probe.CPUIDFile+" is not in the snapshot; CPUID facts unknown")
	}
	f, err := Probe(src, cpu)
	f.Notes = append(append([]string{}, notes...), f.Notes...)
	return f, err
}

package probe

import (
	"context"
	"fmt"
	"io/fs"
)

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

// IsWindowsSnapshot says whether root holds a Windows machine's snapshot.
func IsWindowsSnapshot(root *Root) bool {
	if root.Live() {
		return false
	}
	st, _ := root.Exists(WindowsRegistry)
	return st == Present
}

// windowsSnapshot reads a Windows snapshot through its Root.
type windowsSnapshot struct {
	root   *Root
	reg    *Registry
	regErr error
}

// openWindowsSnapshot reads root's registry export; the notes are its lines that
// could not be read.
func openWindowsSnapshot(root *Root) (WindowsSource, []string) {
	s := &windowsSnapshot{root: root}
	data, err := s.read(WindowsRegistry)
	if err != nil {
		s.regErr = err
		return s, nil
	}
	reg, notes, err := ParseRegFile(data)
	for i, n := range notes {
		notes[i] = WindowsRegistry + ": " + n
	}
	if err != nil {
		s.regErr = fmt.Errorf("%s: %w", WindowsRegistry, err)
		notes = append(notes, s.regErr.Error()+"; every registry fact is unknown")
	}
	s.reg = reg
	return s, notes
}

func (s *windowsSnapshot) read(rel string) ([]byte, error) {
	data, st, err := s.root.Read(rel)
	switch st {
	case Present:
		return data, nil
	case Absent:
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

func (s *windowsSnapshot) CIM(context.Context) ([]byte, error) { return s.read(WindowsCIM) }
func (s *windowsSnapshot) WSLStatus(context.Context) ([]byte, error) {
	return s.read(WindowsWSLStatus)
}
func (s *windowsSnapshot) WSLConfig() ([]byte, error) { return s.read(WindowsWSLConfig) }
func (s *windowsSnapshot) HostConfig() ([]byte, string, error) {
	data, err := s.read(WindowsHostConfig)
	return data, s.root.Real(WindowsHostConfig), err
}
func (s *windowsSnapshot) Live() bool { return false }

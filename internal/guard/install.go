package guard

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nestvirt/nestvirt/internal/hostconf"
)

// HookName is the guard's file in libvirt's qemu.d hook directory.
const HookName = "nestvirt-guard"

const marker = "# nestvirt-guard: installed by 'nestvirt guard install'"

// Config is how the installed hook calls nestvirt.
type Config struct {
	Binary     string // absolute path of nestvirt
	Mode       string
	FailClosed bool
	Root       string // facts from this snapshot tree instead of / ("" for /)
}

// Script is the hook file's content: one exec of nestvirt, libvirt's arguments
// and stdin passed through.
func Script(c Config) string {
	args := []string{shellQuote(c.Binary), "guard", "hook", "--mode", c.Mode}
	if c.FailClosed {
		args = append(args, "--fail-closed")
	}
	if c.Root != "" && c.Root != "/" {
		args = append(args, "--root", shellQuote(c.Root))
	}
	return "#!/bin/sh\n" + marker + "\n# libvirt runs this for each QEMU domain operation; see 'nestvirt guard --help'.\nexec " + strings.Join(args, " ") + " -- \"$@\"\n"
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Path is the hook's path under a hooks directory.
func Path(hooksDir string) string { return filepath.Join(hooksDir, "qemu.d", HookName) }

// Install writes the hook (atomically, executable). It replaces only a hook of
// its own.
func Install(hooksDir string, c Config) (string, error) {
	path := Path(hooksDir)
	if b, err := os.ReadFile(path); err == nil && !strings.Contains(string(b), marker) {
		return "", fmt.Errorf("%s exists and was not installed by nestvirt; not overwritten", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	return path, hostconf.WriteAtomicMode(path, []byte(Script(c)), 0o755)
}

// Uninstall removes the hook if it is nestvirt's.
func Uninstall(hooksDir string) (string, error) {
	path := Path(hooksDir)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return path, fmt.Errorf("no guard installed at %s", path)
	}
	if err != nil {
		return path, err
	}
	if !strings.Contains(string(b), marker) {
		return path, fmt.Errorf("%s was not installed by nestvirt; not removed", path)
	}
	return path, os.Remove(path)
}

// Installed reads the installed hook, if any.
func Installed(hooksDir string) (script string, ok bool, err error) {
	b, err := os.ReadFile(Path(hooksDir))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(b), strings.Contains(string(b), marker), nil
}

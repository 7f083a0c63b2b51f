//go:build windows

package windows

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows/registry"
)

// Live reads the running Windows: the registry through the Windows
// API, WMI through PowerShell, WSL through wsl.exe, each call within
// Timeout.
func Live() (Source, bool) { return liveWindows{}, true }

type liveWindows struct{}

func (liveWindows) Live() bool { return true }

func openKey(key string, access uint32) (registry.Key, error) {
	hive, path, _ := strings.Cut(key, `\`)
	var root registry.Key
	switch strings.ToUpper(hive) {
	case "HKLM":
		root = registry.LOCAL_MACHINE
	case "HKCU":
		root = registry.CURRENT_USER
	default:
		return 0, fmt.Errorf("hive %s: not one check reads", hive)
	}
	// The 64-bit view: a 32-bit build would otherwise read WOW64's copy.
	k, err := registry.OpenKey(root, path, access|registry.WOW64_64KEY)
	if err != nil {
		return 0, regErr(key, err)
	}
	return k, nil
}

// regErr keeps fs.ErrNotExist recognisable (ERROR_FILE_NOT_FOUND is one).
func regErr(what string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", what, fs.ErrNotExist)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (liveWindows) RegValue(key, name string) (RegValue, error) {
	k, err := openKey(key, registry.QUERY_VALUE)
	if err != nil {
		return RegValue{}, err
	}
	defer k.Close()
	s, _, err := k.GetStringValue(name)
	if err == nil {
		return RegValue{S: s}, nil
	}
	if errors.Is(err, registry.ErrUnexpectedType) {
		n, _, err := k.GetIntegerValue(name)
		if err == nil {
			return RegValue{N: n, IsNum: true}, nil
		}
		if errors.Is(err, registry.ErrUnexpectedType) {
			return RegValue{}, fmt.Errorf("%s: neither a string nor a number", name)
		}
	}
	return RegValue{}, regErr(name, err)
}

func (liveWindows) RegSubkeys(key string) ([]string, error) {
	k, err := openKey(key, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil, regErr(key, err)
	}
	return names, nil
}

// limited keeps the first MaxWindowsOutput bytes of a program's output.
type limited struct{ bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := MaxWindowsOutput - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// run runs a program within ctx's deadline; a program that is not installed is
// fs.ErrNotExist. Output comes back even with a failing exit status (wsl.exe
// exits 1 with its status when no distribution is installed).
func run(ctx context.Context, name string, env []string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 2 * time.Second // a child that keeps the pipe open does not hold check
	var out limited
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, io.Discard, nil
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s did not answer within %s", name, Timeout)
	}
	if err != nil && out.Len() == 0 {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out.Bytes(), nil
}

func (liveWindows) CIM(ctx context.Context) ([]byte, error) {
	return run(ctx, "powershell.exe", nil, "-NoProfile", "-NonInteractive", "-Command", cimScript)
}

func (liveWindows) WSLStatus(ctx context.Context) ([]byte, error) {
	return run(ctx, "wsl.exe", []string{"WSL_UTF8=1"}, "--status")
}

// readSmall reads a file of the user's (.wslconfig) or of nestvirt's (host.yaml)
// on the live Windows, bounded. There is no --root on Windows to confine it to.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxWindowsOutput+1))
	if err == nil && len(data) > MaxWindowsOutput {
		return nil, fmt.Errorf("%s: over %d bytes", path, MaxWindowsOutput)
	}
	return data, err
}

func (liveWindows) WSLConfig() ([]byte, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, err
	}
	return readSmall(filepath.Join(home, ".wslconfig"))
}

// hostConfigPath is host.yaml on Windows.
func hostConfigPath() string {
	dir := os.Getenv("ProgramData")
	if dir == "" {
		dir = `C:\ProgramData`
	}
	return filepath.Join(dir, "nestvirt", "host.yaml")
}

func (liveWindows) HostConfig() ([]byte, string, error) {
	p := hostConfigPath()
	data, err := readSmall(p)
	return data, p, err
}

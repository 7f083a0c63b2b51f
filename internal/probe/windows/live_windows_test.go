//go:build windows

package windows

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// The live source reads the real registry through the Windows API (under Wine in
// CI: scripts/test-windows.sh): strings, DWORDs, QWORDs, subkeys, and absence
// as fs.ErrNotExist.
func TestLiveRegistry(t *testing.T) {
	const path = `Software\nestvirt-test`
	k, _, err := registry.CreateKey(registry.CURRENT_USER, path+`\child`, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	k, _, err = registry.CreateKey(registry.CURRENT_USER, path, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		registry.DeleteKey(registry.CURRENT_USER, path+`\child`)
		registry.DeleteKey(registry.CURRENT_USER, path)
	}()
	if err := k.SetStringValue("Build", "17763"); err != nil {
		t.Fatal(err)
	}
	k.SetDWordValue("Version", 2)
	k.SetQWordValue("Big", 1<<40)
	k.SetBinaryValue("Blob", []byte{1, 2})
	k.Close()

	src, ok := Live()
	if !ok || !src.Live() {
		t.Fatal("no live source on Windows")
	}
	key := `HKCU\` + path
	if v, err := src.RegValue(key, "Build"); err != nil || v.IsNum || v.S != "17763" {
		t.Errorf("string: %+v %v", v, err)
	}
	if v, err := src.RegValue(key, "Version"); err != nil || !v.IsNum || v.N != 2 {
		t.Errorf("dword: %+v %v", v, err)
	}
	if v, err := src.RegValue(key, "Big"); err != nil || !v.IsNum || v.N != 1<<40 {
		t.Errorf("qword: %+v %v", v, err)
	}
	if _, err := src.RegValue(key, "Blob"); err == nil {
		t.Error("a binary value read as a string or number")
	}
	if _, err := src.RegValue(key, "Missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing value: %s", err)
	}
	if _, err := src.RegValue(`HKCU\Software\nestvirt-no-such-key`, "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing key: %s", err)
	}
	if sub, err := src.RegSubkeys(key); err != nil || len(sub) != 1 || sub[0] != "child" {
		t.Errorf("subkeys %v %v", sub, err)
	}
	// The registry Windows itself keeps: the build is always there.
	if v, err := src.RegValue(regCurrentVersion, "CurrentBuildNumber"); err != nil || v.S == "" {
		t.Errorf("CurrentBuildNumber: %+v %v", v, err)
	}
}

// A program that is not installed is fs.ErrNotExist, not a failure; a
// .wslconfig that is not there is absent.
func TestLiveMissingPrograms(t *testing.T) {
	if _, err := run(context.Background(), "nestvirt-no-such-program.exe", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing program: %s", err)
	}
	// Not t.TempDir: Wine 8 cannot delete with the file APIs Go's RemoveAll
	// uses, and the cleanup would fail the test; the prefix is thrown away.
	dir, err := os.MkdirTemp("", "nestvirt-home")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("USERPROFILE", dir)
	if _, err := (liveWindows{}).WSLConfig(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no .wslconfig: %s", err)
	}
	os.WriteFile(os.Getenv("USERPROFILE")+`\.wslconfig`, []byte("[wsl2]\nnestedVirtualization=false\n"), 0o644)
	if data, err := (liveWindows{}).WSLConfig(); err != nil || len(data) == 0 {
		t.Errorf(".wslconfig: %s", err)
	}
}

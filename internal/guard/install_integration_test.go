//go:build integration

package guard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallRefusesABinaryRootDoesNotOwnAlone needs root: it makes files root
// owns and gives one away.
func TestInstallRefusesABinaryRootDoesNotOwnAlone(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test checks root ownership and must run as root (as CI does)")
	}
	dir, err := os.MkdirTemp("/var/lib", "nestvirt-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "nestvirt")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	os.Chmod(bin, 0o755)
	if err := CheckBinary(bin); err != nil {
		t.Errorf("a root-owned binary in a root-owned directory: %s", err)
	}
	os.Chmod(bin, 0o777)
	if err := CheckBinary(bin); err == nil || !strings.Contains(err.Error(), "writable") {
		t.Errorf("a world-writable binary: %s", err)
	}
	os.Chmod(bin, 0o755)
	os.Chown(bin, 65534, 65534)
	if err := CheckBinary(bin); err == nil || !strings.Contains(err.Error(), "not root") {
		t.Errorf("a binary owned by nobody: %s", err)
	}
}

//go:build integration

package probe

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMachineIDMatchesSystemdID128 derives this machine's ID and asks systemd
// for its application-specific ID with nestvirt's application ID: the same.
func TestMachineIDMatchesSystemdID128(t *testing.T) {
	text, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		t.Fatalf("/etc/machine-id: %v", err)
	}
	out, err := exec.Command("systemd-id128", "-a", hex.EncodeToString(appID[:]), "machine-id").Output()
	if err != nil {
		t.Fatalf("systemd-id128 (Debian's systemd): %v", err)
	}
	got, ok := MachineIDOf(string(text))
	if !ok || got != strings.TrimSpace(string(out)) {
		t.Errorf("nestvirt derives %q, systemd-id128 %q", got, out)
	}
}

//go:build integration

package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffsApplyCleanlyWithPatch applies each diff with the real patch(1), which
// must take it without fuzz or offset, and finds the new content.
func TestDiffsApplyCleanlyWithPatch(t *testing.T) {
	for _, tt := range diffCases {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "etc/modprobe.d/kvm.conf")
			os.MkdirAll(filepath.Dir(target), 0o755)
			if !tt.created {
				os.WriteFile(target, []byte(tt.old), 0o644)
			}
			var d bytes.Buffer
			if err := Diff(&d, "/etc/modprobe.d/kvm.conf", []byte(tt.old), []byte(tt.new), tt.created); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("patch", "-p1", "--forward", "-d", dir)
			cmd.Stdin = &d
			out, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(string(out), "fuzz") || strings.Contains(string(out), "offset") {
				t.Fatalf("patch: %v\n%s\ndiff:\n%s", err, out, d.String())
			}
			if got, _ := os.ReadFile(target); string(got) != tt.new {
				t.Errorf("after patch: %q, want %q", got, tt.new)
			}
		})
	}
}

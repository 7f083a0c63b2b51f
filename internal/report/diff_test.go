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
	tests := []struct {
		name       string
		old, new   string
		created    bool
		wantHeader string
	}{
		{"a new file", "", "# Written by nestvirt\noptions kvm_intel nested=1\n", true, "@@ -0,0 +1,2 @@"},
		{"a line edited in place", "# site\noptions kvm_intel nested=0 ept=1\nblacklist pcspkr\n", "# site\noptions kvm_intel nested=1 ept=1\nblacklist pcspkr\n", false, "@@ -1,3 +1,3 @@"},
		{"no final newline", "options kvm_amd nested=1", "options kvm_amd nested=0", false, "\\ No newline at end of file"},
		{"a line appended to a long file", strings.Repeat("# comment\n", 20), strings.Repeat("# comment\n", 20) + "options kvm_amd nested=0\n", false, "@@ -18,3 +18,4 @@"},
	}
	for _, tt := range tests {
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
			if !strings.Contains(d.String(), tt.wantHeader) {
				t.Errorf("diff lacks %q:\n%s", tt.wantHeader, d.String())
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

package report

import (
	"bytes"
	"strings"
	"testing"
)

// diffCases are the edits enable and expose show: each diff must carry the
// header patch(1) needs, and apply cleanly (the integration tests run patch).
var diffCases = []struct {
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

func TestDiffsNameTheFileAndTheHunk(t *testing.T) {
	for _, tt := range diffCases {
		t.Run(tt.name, func(t *testing.T) {
			var d bytes.Buffer
			if err := Diff(&d, "/etc/modprobe.d/kvm.conf", []byte(tt.old), []byte(tt.new), tt.created); err != nil {
				t.Fatal(err)
			}
			from := "--- a/etc/modprobe.d/kvm.conf\n"
			if tt.created {
				from = "--- /dev/null\n"
			}
			if !strings.HasPrefix(d.String(), from+"+++ b/etc/modprobe.d/kvm.conf\n") || !strings.Contains(d.String(), tt.wantHeader) {
				t.Errorf("diff lacks %q or its file names:\n%s", tt.wantHeader, d.String())
			}
		})
	}
}

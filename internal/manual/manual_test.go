package manual

import (
	"strings"
	"testing"
)

// check's description shows host.yaml's example indented as its placeholder
// is, every line of it, with the text around it kept.
func TestAPlaceholderAloneOnItsLineIndentsItsValue(t *testing.T) {
	got := Long("check", "{{host.yaml}}", "migration: no\nl0_os: rhel10.0\n")
	if !strings.Contains(got, "host.yaml:\n\n  migration: no\n  l0_os: rhel10.0\n\nor with --migrates") {
		t.Errorf("got:\n%s", got)
	}
	if strings.Contains(Long("check"), "  {{host.yaml}}") == false {
		t.Errorf("without a value the placeholder stays, for the test that finds it")
	}
}

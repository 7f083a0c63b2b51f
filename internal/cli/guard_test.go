package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenStated is a copy of a snapshot whose /etc/nestvirt/host.yaml does not
// parse: a typo an admin makes.
func brokenStated(t *testing.T, snapshot string) string {
	t.Helper()
	root := copyTree(t, snapshot)
	if err := os.MkdirAll(filepath.Join(root, "etc/nestvirt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/nestvirt/host.yaml"), []byte("migration: maybe\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestAMalformedHostYAMLCostsTheGuardOnlyTheStatedFacts: the refusals that need
// no stated fact still happen with a host.yaml that does not parse, fail-closed
// or not, and the log names host.yaml, not an unknown architecture.
func TestAMalformedHostYAMLCostsTheGuardOnlyTheStatedFacts(t *testing.T) {
	const plain = "<domain type='kvm'><name>g</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>"
	const huge = "<domain type='kvm'><name>g</name><memory>65536</memory><memoryBacking><hugepages/></memoryBacking><os><type arch='s390x'>hvm</type></os></domain>"
	tests := []struct {
		name, snapshot, op, xml, rule string
	}{
		{"an incoming migration to an AMD host with nesting on", "amd-l0-nested", "migrate", plain, "amd-migration"},
		{"a huge-page guest on an IBM Z host with nesting on", "s390x-level2", "prepare", huge, "s390x-hugepages"},
	}
	for _, tt := range tests {
		for _, failClosed := range []bool{false, true} {
			t.Run(tt.name+map[bool]string{false: "", true: " (fail-closed)"}[failClosed], func(t *testing.T) {
				root := brokenStated(t, tt.snapshot)
				args := []string{"guard", "hook", "--root", root}
				if failClosed {
					args = append(args, "--fail-closed")
				}
				args = append(args, "--", "g", tt.op, "begin", "-")
				out, stderr, code := nv(t, tt.xml, args...)
				if code != ExitFindings || !strings.Contains(stderr, "decision=refuse rule="+tt.rule) {
					t.Errorf("exit %d, want the refusal by %s:\n%s", code, tt.rule, stderr)
				}
				if !strings.Contains(stderr, "host.yaml:1:12: migration: must be true or false") {
					t.Errorf("the log does not name host.yaml's error:\n%s", stderr)
				}
				if strings.Contains(stderr, "architecture is unknown") {
					t.Errorf("the log blames the wrong cause:\n%s", stderr)
				}
				if out != "" {
					t.Errorf("stdout must stay empty (libvirt reads it as XML): %q", out)
				}
			})
		}
	}
	// A plain start on the same host is allowed, and says why host.yaml is ignored.
	_, stderr, code := nv(t, plain, "guard", "hook", "--root", brokenStated(t, "amd-l0-nested"), "--", "g", "prepare", "begin", "-")
	if code != ExitOK || !strings.Contains(stderr, "host.yaml") {
		t.Errorf("a plain start: exit %d\n%s", code, stderr)
	}
}

func TestGuardStatusReportsAMalformedHostYAML(t *testing.T) {
	out, _, code := nv(t, "", "guard", "status", "--hooks-dir", t.TempDir(), "--root", brokenStated(t, "amd-l0-nested"))
	if code != ExitDependency || !strings.Contains(out, "host.yaml") || !strings.Contains(out, "an incoming migration would be refused (amd-migration)") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

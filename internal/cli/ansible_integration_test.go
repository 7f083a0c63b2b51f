//go:build integration

package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/ansible"
	"github.com/nestvirt/nestvirt/schema/schematest"
)

// TestTheFactAlwaysPrintsADocument runs the installed fact script as Ansible
// does: with nestvirt there, gone, or crashing, it exits 0 and prints JSON of
// the check schema.
func TestTheFactAlwaysPrintsADocument(t *testing.T) {
	bin := rootBinary(t)
	dir := t.TempDir()
	crash := filepath.Join(dir, "crash")
	os.WriteFile(crash, []byte("#!/bin/sh\necho half a doc\nkill -SEGV $$\n"), 0o755)
	for name, c := range map[string]struct{ bin, want string }{
		"working":  {bin, `"verdict": "`},
		"missing":  {"/nonexistent/nestvirt", "is missing or not executable"},
		"crashing": {crash, "printed no document"},
	} {
		script := filepath.Join(dir, name+".fact")
		os.WriteFile(script, []byte(ansible.Script(c.bin, snapshots+"intel-l0-ready/root")), 0o755)
		out, err := exec.Command(script).Output()
		if err != nil {
			t.Errorf("%s: the fact failed: %v", name, err)
		}
		if err := schematest.Validate("check", out); err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}

// TestAnsibleGathersTheFactAndActsOnIt runs the playbooks of examples/ansible
// with real ansible-playbook against localhost: the fact is installed and
// gathered, ansible_local.nestvirt.verdict is what check says (live, and on a
// snapshot tree), the reports are written, and enable.yml turns nesting on in the
// tree after its dry run.
func TestAnsibleGathersTheFactAndActsOnIt(t *testing.T) {
	playbook, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatalf("ansible-playbook is needed (apt-get install ansible-core; scripts/test.sh does): %s", err)
	}
	bin := rootBinary(t)
	// Where root keeps what it runs: not a temporary directory (the fact refuses those).
	home, err := os.MkdirTemp("/var/lib", "nestvirt-ansible-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(home)
	os.Chmod(home, 0o755)
	tree := copyTree(t, "intel-l0-nesting-off")
	reports := t.TempDir()
	play := func(book, root string) string {
		t.Helper()
		cmd := exec.Command(playbook, "-i", "localhost,", "-c", "local", filepath.Join("../../examples/ansible", book),
			"-e", "nestvirt_binary="+bin, "-e", "nestvirt_path="+filepath.Join(home, "nestvirt"),
			"-e", "nestvirt_fact_path="+filepath.Join(home, "facts.d"), "-e", "nestvirt_root="+root,
			"-e", "nestvirt_reports="+reports, "-e", "nestvirt_become=false")
		cmd.Env = append(os.Environ(), "ANSIBLE_NOCOLOR=1", "ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_LOCAL_TEMP="+t.TempDir(),
			"ANSIBLE_REMOTE_TEMP="+t.TempDir(), "ANSIBLE_PYTHON_INTERPRETER=auto_silent")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s (root %s): %v\n%s", book, root, err, out)
		}
		return string(out)
	}
	verdictOf := func(doc []byte) string {
		var d struct{ Verdict *string }
		if err := json.Unmarshal(doc, &d); err != nil || d.Verdict == nil {
			t.Fatalf("no verdict in %s (%v)", doc, err)
		}
		return *d.Verdict
	}
	for _, root := range []string{"/", tree} {
		play("gather.yml", root)
		report, err := os.ReadFile(filepath.Join(reports, "localhost.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := schematest.Validate("check", report); err != nil {
			t.Errorf("the gathered fact: %v\n%s", err, report)
		}
		check, _, _ := nv(t, "", "check", "--format", "json", "--fail-on", "never", "--root", root)
		if got, want := verdictOf(report), verdictOf([]byte(check)); got != want {
			t.Errorf("root %s: ansible_local.nestvirt.verdict %s, check says %s", root, got, want)
		}
		summary, _ := os.ReadFile(filepath.Join(reports, "summary.tsv"))
		if !strings.HasPrefix(string(summary), "localhost\t"+verdictOf(report)+"\t") {
			t.Errorf("summary: %q", summary)
		}
	}
	// The tree is an Intel L0 with nesting off: enable.yml acts on it.
	out := play("enable.yml", tree)
	// (Its modprobe.d already says nested=1: the dry run shows the reload.)
	if !strings.Contains(out, "# then: modprobe -r kvm_intel") {
		t.Errorf("the dry run is not shown:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(tree, "sys/module/kvm_intel/parameters/nested")); strings.TrimSpace(string(b)) != "Y" {
		t.Errorf("nesting is not on in the tree: %q\n%s", b, out)
	}
	// On this machine (a guest, not an L0), enable.yml leaves the host alone.
	if out := play("enable.yml", "/"); !strings.Contains(out, "left alone") {
		t.Errorf("the live host was not left alone:\n%s", out)
	}
	// facts uninstall removes only nestvirt's own.
	if out, _, code := nv(t, "", "facts", "uninstall", "--fact-path", filepath.Join(home, "facts.d")); code != ExitOK || !strings.Contains(out, "removed") {
		t.Errorf("uninstall: %d %s", code, out)
	}
}

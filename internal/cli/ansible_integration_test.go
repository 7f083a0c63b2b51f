//go:build integration

package cli

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// treeSum is the content of every file of a tree, to show a run changed nothing.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&b, "%s %x\n", p, sha256.Sum256(data))
		}
		return nil
	})
	return b.String()
}

var recap = regexp.MustCompile(`localhost\s*: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0`)

// TestTheShippedPlaybooksBehave runs each playbook of examples/ansible as an
// admin does, Molecule-style, with real ansible-playbook against localhost:
// check mode first (nothing changes), then apply, then apply again (nothing
// changes: idempotent). The playbooks are run from a copy where the package
// installs them, from another working directory: the reports land in that
// directory, not beside the playbook. The summary keeps false as false, and
// every value enable.yml prints is there.
func TestTheShippedPlaybooksBehave(t *testing.T) {
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
	books := filepath.Join(t.TempDir(), "usr/share/doc/nestvirt/examples/ansible")
	if err := os.CopyFS(books, os.DirFS("../../examples/ansible")); err != nil {
		t.Fatal(err)
	}
	cwd := t.TempDir()
	tree := copyTree(t, "intel-l0-nesting-off")
	play := func(book, root string, extra ...string) (string, int) {
		t.Helper()
		args := append([]string{"-i", "localhost,", "-c", "local", filepath.Join(books, book),
			"-e", "nestvirt_binary=" + bin, "-e", "nestvirt_path=" + filepath.Join(home, "nestvirt"),
			"-e", "nestvirt_fact_path=" + filepath.Join(home, "facts.d"), "-e", "nestvirt_root=" + root,
			"-e", "nestvirt_become=false"}, extra...)
		cmd := exec.Command(playbook, args...)
		cmd.Dir = cwd
		cmd.Env = append(os.Environ(), "PWD="+cwd, "ANSIBLE_NOCOLOR=1", "ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_LOCAL_TEMP="+t.TempDir(),
			"ANSIBLE_REMOTE_TEMP="+t.TempDir(), "ANSIBLE_PYTHON_INTERPRETER=auto_silent")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v (root %s): %v\n%s", book, extra, root, err, out)
		}
		m := recap.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("%s: no recap:\n%s", book, out)
		}
		changed, _ := strconv.Atoi(m[1])
		return string(out), changed
	}
	verdictOf := func(doc []byte) string {
		var d struct{ Verdict *string }
		if err := json.Unmarshal(doc, &d); err != nil || d.Verdict == nil {
			t.Fatalf("no verdict in %s (%v)", doc, err)
		}
		return *d.Verdict
	}
	reports := filepath.Join(cwd, "nestvirt-reports")

	// gather.yml, check mode on a host with nothing installed: nothing written.
	before := treeSum(t, home) + treeSum(t, tree)
	out, _ := play("gather.yml", tree, "--check")
	if !strings.Contains(out, "check mode installs nothing") {
		t.Errorf("gather.yml --check does not say why there is no document:\n%s", out)
	}
	if after := treeSum(t, home) + treeSum(t, tree); after != before {
		t.Errorf("gather.yml --check changed files")
	}
	if _, err := os.Stat(reports); err == nil {
		t.Errorf("gather.yml --check wrote %s", reports)
	}

	// Applied: the reports are in the working directory, false stays false.
	for _, root := range []string{"/", tree} {
		play("gather.yml", root)
		report, err := os.ReadFile(filepath.Join(reports, "localhost.json"))
		if err != nil {
			t.Fatalf("root %s: the reports are not in the working directory: %v", root, err)
		}
		if err := schematest.Validate("check", report); err != nil {
			t.Errorf("the gathered fact: %v\n%s", err, report)
		}
		check, _, _ := nv(t, "", "check", "--format", "json", "--fail-on", "never", "--root", root)
		if got, want := verdictOf(report), verdictOf([]byte(check)); got != want {
			t.Errorf("root %s: ansible_local.nestvirt.verdict %s, check says %s", root, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(books, "nestvirt-reports")); err == nil {
		t.Error("reports were written beside the playbook")
	}
	summary, _ := os.ReadFile(filepath.Join(reports, "summary.tsv"))
	// The tree: an Intel L0 (level 0) with nesting off.
	if want := "localhost\tdoes-not-work\tnone\t0\tfalse\t\n"; !strings.Contains(string(summary), want) {
		t.Errorf("summary.tsv has no %q (false must stay false):\n%s", want, summary)
	}
	if _, changed := play("gather.yml", tree); changed != 0 {
		t.Errorf("gather.yml again changed %d things (not idempotent)", changed)
	}

	// enable.yml, check mode: the dry run and every value shown, nothing changed.
	before = treeSum(t, tree)
	out, _ = play("enable.yml", tree, "--check")
	for _, want := range []string{"# then: modprobe -r kvm_intel", "enable nesting in kvm_intel (verdict does-not-work, level 0, nested false)"} {
		if !strings.Contains(out, want) {
			t.Errorf("enable.yml --check does not show %q:\n%s", want, out)
		}
	}
	if empty := regexp.MustCompile(`(verdict|level|nested|module) [,)]`).FindString(out); empty != "" {
		t.Errorf("enable.yml --check prints an empty value (%q):\n%s", empty, out)
	}
	if treeSum(t, tree) != before {
		t.Error("enable.yml --check changed the tree")
	}
	// Applied, it turns nesting on; again, it leaves the host alone.
	out, _ = play("enable.yml", tree)
	if b, _ := os.ReadFile(filepath.Join(tree, "sys/module/kvm_intel/parameters/nested")); strings.TrimSpace(string(b)) != "Y" {
		t.Errorf("nesting is not on in the tree: %q\n%s", b, out)
	}
	if out, changed := play("enable.yml", tree); changed != 0 || !strings.Contains(out, "left alone: nesting is already on (verdict ") {
		t.Errorf("enable.yml again: %d changed\n%s", changed, out)
	}
	// On this machine (a guest, not an L0), it says why, with every value.
	play("gather.yml", "/") // the fact now judges this machine
	out, changed := play("enable.yml", "/")
	if changed != 0 || !strings.Contains(out, "left alone: not known to be an L0") {
		t.Errorf("the live host was not left alone, or not told why:\n%s", out)
	}
	if empty := regexp.MustCompile(`(verdict|level|nested|module) [,)]`).FindString(out); empty != "" {
		t.Errorf("enable.yml prints an empty value (%q):\n%s", empty, out)
	}
	// facts uninstall removes only nestvirt's own.
	if out, _, code := nv(t, "", "facts", "uninstall", "--fact-path", filepath.Join(home, "facts.d")); code != ExitOK || !strings.Contains(out, "removed") {
		t.Errorf("uninstall: %d %s", code, out)
	}
}

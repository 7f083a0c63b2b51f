package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// sosreport writes the written report of ../sos/testdata/NAME.txtar as the
// directory dir of a temporary directory, as sos leaves it extracted.
func sosreport(t *testing.T, name, dir string) string {
	t.Helper()
	ar, err := txtar.ParseFile("../sos/testdata/" + name + ".txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), dir)
	for _, f := range ar.Files {
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSosInputIsCheckedLikeAnyOther: a path that is no sosreport is bad input.
func TestSosInputIsCheckedLikeAnyOther(t *testing.T) {
	for args, want := range map[string]string{
		"check --sos /nonexistent":                       "no such file",
		"check --sos " + snapshots + "pvm/root":          "not a sosreport",
		"check --sos x --root " + snapshots + "pvm/root": "give one of them",
		"vms --sos " + snapshots + "pvm/root":            "not a sosreport",
	} {
		_, stderr, code := nv(t, "", strings.Fields(args)...)
		if code != ExitInput || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d %s, want %q", args, code, stderr, want)
		}
	}
}

// TestVMsOfAWrittenSosreport: vms --sos audits the domains a report holds, with
// that host's facts, and its JSON holds to the schema; check --sos agrees.
func TestVMsOfAWrittenSosreport(t *testing.T) {
	dir := sosreport(t, "rhel10-amd-l0-nested", "sosreport-amd")
	out, stderr, code := nv(t, "", "vms", "--sos", dir, "--format", "json", "--fail-on", "never")
	if code != ExitOK || !strings.Contains(out, `"name": "win11"`) || !strings.Contains(out, `"state": "running"`) || !strings.Contains(out, `"cpu_mode": "host-passthrough"`) {
		t.Errorf("vms --sos: %d %s\n%s", code, stderr, out)
	}
	text, _, _ := nv(t, "", "check", "--sos", dir)
	if !strings.HasPrefix(text, "This machine: supported") || !strings.Contains(text, "read from the sosreport sosreport-amd") {
		t.Errorf("check --sos:\n%s", text)
	}
}

// TestCheckVMsOfASosreportJudgesTheReportsDomains: check --sos --vms judges the
// domains the report holds, with its host's facts, and never asks this
// machine's libvirt (a daemon that would answer is there, and must not be
// asked).
func TestCheckVMsOfASosreportJudgesTheReportsDomains(t *testing.T) {
	dir := sosreport(t, "rhel10-amd-l0-nested", "sosreport-amd")
	d := dialing(func(libvirt.Options) (daemon, error) {
		t.Error("check --sos --vms asked this machine's libvirt")
		return recordedDaemon(t, true), nil
	})
	out, stderr, code := d.nv(t, "", "check", "--sos", dir, "--vms", "--format", "json", "--fail-on", "never")
	if code != ExitOK || !strings.Contains(out, `"uri": "sosreport `) || !strings.Contains(out, `"name": "win11"`) || strings.Contains(out, `"name": "nv-plain"`) {
		t.Errorf("exit %d %s\n%s", code, stderr, out)
	}
}

// TestSosTextStatesFactsWithFlags: a sosreport's machine is not the one the
// reader sits at, so its text offers the flags to state what sos cannot show,
// never /etc/nestvirt/host.yaml (which is this machine's); a snapshot, whose
// host.yaml nestvirt reads, still names the file.
func TestSosTextStatesFactsWithFlags(t *testing.T) {
	for _, name := range []string{"rhel10-amd-l0-nested", "ibmz-kvm-l1", "rhel10-l1-on-vmware", "rhel9-intel-nesting-off"} {
		dir := sosreport(t, name, name)
		var all string
		for _, args := range [][]string{{"check", "--sos", dir}, {"check", "-q", "--sos", dir}, {"vms", "--sos", dir}} {
			out, stderr, _ := nv(t, "", append(args, "--fail-on", "never")...)
			if strings.Contains(out, "/etc/nestvirt/host.yaml") {
				t.Errorf("%s %v tells the reader to edit this machine's host.yaml:\n%s%s", name, args[:2], out, stderr)
			}
			all += out
		}
		if want := map[string]string{"rhel10-amd-l0-nested": "--migrates no", "ibmz-kvm-l1": "--l0-os rhel10.0"}[name]; !strings.Contains(all, want) {
			t.Errorf("%s: no %q:\n%s", name, want, all)
		}
	}
	out, _, _ := nv(t, "", "check", "--root", snapshots+"rhel96-l1-on-kvm/root", "--fail-on", "never")
	if !strings.Contains(out, "--l0-os rhel10.0, or in /etc/nestvirt/host.yaml") {
		t.Errorf("a snapshot's text no longer names host.yaml:\n%s", out)
	}
}

// couldBe is a headline's promise: "could be L (rule) if ...: state it with
// --flag value" (or "live migration: L if ...; state it with --flag value").
var couldBe = regexp.MustCompile(`(?m)^  (?:could be|live migration:) ([a-z-]+) .*?state it with (--[a-z0-9-]+) ([^ ,]+)`)

// TestEveryCouldBeIsKept: whatever a headline says stating a fact would make
// the verdict, checking again with that statement makes it so, for every
// snapshot and sosreport fixture of the repository. ("could be tech-preview
// (host-l1-on-kvm) if the OS of the L0 ... were known" was printed where another
// decided finding kept the verdict worse whatever was stated.)
func TestEveryCouldBeIsKept(t *testing.T) {
	var inputs [][]string
	entries, _ := os.ReadDir(snapshots)
	for _, e := range entries {
		inputs = append(inputs, []string{"--root", snapshots + e.Name() + "/root"})
	}
	sosDir := t.TempDir()
	reports, _ := filepath.Glob("../sos/testdata/*.txtar")
	for _, r := range reports {
		inputs = append(inputs, []string{"--sos", sosreport(t, strings.TrimSuffix(filepath.Base(r), ".txtar"), sosDir)})
	}
	promises := 0
	for _, in := range inputs {
		out, _, _ := nv(t, "", append([]string{"check"}, in...)...)
		head, _, _ := strings.Cut(out, "\n\n")
		head = strings.ReplaceAll(head, "\n    ", " ") // unwrapped
		for _, m := range couldBe.FindAllStringSubmatch(head, -1) {
			promises++
			again, stderr, _ := nv(t, "", append([]string{"check", "--format", "json", m[2], m[3]}, in...)...)
			var doc struct{ Verdict string }
			if err := json.Unmarshal([]byte(again), &doc); err != nil || doc.Verdict != m[1] {
				t.Errorf("%v says %q; with %s %s the verdict is %q %s", in, strings.TrimSpace(m[0]), m[2], m[3], doc.Verdict, stderr)
			}
		}
	}
	if promises < 5 {
		t.Errorf("only %d could-be lines over %d inputs: the test reads nothing", promises, len(inputs))
	}
	t.Logf("%d could-be lines over %d inputs, each kept", promises, len(inputs))
}

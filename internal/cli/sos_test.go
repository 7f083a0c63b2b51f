package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nestvirt/nestvirt/internal/libvirt"
)

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
	ar, err := txtar.ParseFile("../sos/testdata/rhel10-amd-l0-nested.txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sosreport-amd")
	for _, f := range ar.Files {
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, f.Data, 0o644)
	}
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
	ar, err := txtar.ParseFile("../sos/testdata/rhel10-amd-l0-nested.txtar")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sosreport-amd")
	for _, f := range ar.Files {
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, f.Data, 0o644)
	}
	d := dialing(func(libvirt.Options) (daemon, error) {
		t.Error("check --sos --vms asked this machine's libvirt")
		return recordedDaemon(t, true), nil
	})
	out, stderr, code := d.nv(t, "", "check", "--sos", dir, "--vms", "--format", "json", "--fail-on", "never")
	if code != ExitOK || !strings.Contains(out, `"uri": "sosreport `) || !strings.Contains(out, `"name": "win11"`) || strings.Contains(out, `"name": "nv-plain"`) {
		t.Errorf("exit %d %s\n%s", code, stderr, out)
	}
}

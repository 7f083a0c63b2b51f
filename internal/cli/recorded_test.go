package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

const recordedReport = "../recorded/testdata/sosreport-pvm-host.tar.xz"

// TestCheckSosShowsWhatTheHostRecorded: check --sos on a real report with
// nestvirt's drop-in output shows the recorded judgement (version, policy,
// when, verdict, findings, guard) before the one made now from the report's
// files, in text and in JSON; vms --sos carries it too. The two agree here
// (the report's files and the recorded check are of one host at one time), so
// no difference is reported.
func TestCheckSosShowsWhatTheHostRecorded(t *testing.T) {
	text, stderr, code := nv(t, "", "check", "--sos", recordedReport, "--fail-on", "never")
	if code != ExitOK {
		t.Fatalf("%d %s", code, stderr)
	}
	for _, want := range []string{"Recorded on the host (sos_commands/sos_extras/nestvirt", "  nestvirt   nestvirt ", "  policy     rhel-10:", "  verdict    does-not-work",
		"  findings   does-not-work host-guest-hides-virt", "  guard      not installed", "Judged now from the report's files:", "This machine: does-not-work"} {
		if !strings.Contains(text, want) {
			t.Errorf("check --sos lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "sos-recorded-differs") {
		t.Errorf("one host at one time differs from itself:\n%s", text)
	}
	out, _, _ := nv(t, "", "check", "--sos", recordedReport, "--vms", "--format", "json", "--fail-on", "never")
	var d struct {
		Verdict  string
		Recorded struct {
			Verdict   string
			CheckedAt *string `json:"checked_at"`
			VMs       []struct{ Name, Verdict string }
			Problems  []string
		}
		VMs struct{ Notes []string }
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Recorded.Verdict != d.Verdict || d.Recorded.CheckedAt == nil || len(d.Recorded.VMs) != 1 || len(d.Recorded.Problems) != 0 {
		t.Errorf("recorded %+v, now %s", d.Recorded, d.Verdict)
	}
	for _, n := range d.VMs.Notes {
		if strings.HasPrefix(n, "recorded on the host") {
			t.Errorf("the report's VM differs from its record: %s", n)
		}
	}
	vms, _, _ := nv(t, "", "vms", "--sos", recordedReport, "--format", "json", "--fail-on", "never")
	if !strings.Contains(vms, `"recorded": {`) || !strings.Contains(vms, `"name": "lab1"`) {
		t.Errorf("vms --sos: %.800s", vms)
	}
	// A report without the drop-in reads as before: no record.
	plain, _, _ := nv(t, "", "check", "--sos", sosreport(t, "rhel9-intel-nesting-off", "sosreport-host"), "--format", "json", "--fail-on", "never")
	if !strings.Contains(plain, `"recorded": null`) {
		t.Errorf("a report without nestvirt's record: %.300s", plain)
	}
}

package fleetpage

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"html"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fleet"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/judge/judgetest"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report"
)

// TestTheFleetReportRunsOnlyItsOwnScript: the page's Content-Security-Policy
// names by its hash the one script the page carries, as the browser will read
// it, and allows nothing else to run or be fetched.
func TestTheFleetReportRunsOnlyItsOwnScript(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, &fleet.Fleet{}, "rhel-10", "test", time.Unix(0, 0), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if csp == nil {
		t.Fatalf("no Content-Security-Policy")
	}
	i, j := strings.Index(page, "<script>"), strings.Index(page, "</script>")
	sum := sha256.Sum256([]byte(page[i+len("<script>") : j]))
	want := "script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if !strings.Contains(csp[1], want) || !strings.Contains(csp[1], "default-src 'none'") {
		t.Errorf("policy %q; want %q and default-src 'none'", csp[1], want)
	}
	if strings.Count(page, "<script") != 1 {
		t.Errorf("%d scripts: the policy names one", strings.Count(page, "<script"))
	}
}

// hostWithVMs is an Intel L0 with nesting off, judged, and two real domains
// judged as its VMs.
func hostWithVMs(t *testing.T) (judge.CheckResult, judge.Audit) {
	t.Helper()
	r := checkOf(t, "intel-l0-nesting-off")
	var recs []domxml.Record
	for _, f := range []string{"plain.xml", "win11-wsl2.xml"} {
		data, err := os.ReadFile(filepath.Join("../../domxml/testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, domxml.Record{Name: strings.TrimSuffix(f, ".xml"), State: "running", XML: data})
	}
	return r, judge.VMs(policy.Default(), r.Host, recs, nil)
}

// TestTheFleetReportShowsFindingsAndVMs: a fleet read back from real documents
// (a host with findings, its VMs) is written whole: its worst finding, the rule
// with its remedy, each VM with its verdict.
func TestTheFleetReportShowsFindingsAndVMs(t *testing.T) {
	dir := t.TempDir()
	r, a := hostWithVMs(t)
	for name, d := range map[string]any{"host.json": doc.NewCheckDoc(&r, &a, nil)} {
		var b bytes.Buffer
		if err := report.WriteJSON(&b, d); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
	}
	f, err := fleet.Load([]string{dir})
	if err != nil || len(f.Hosts) != 1 || len(f.Skipped) != 0 {
		t.Fatalf("%v: %+v", err, f)
	}
	var b bytes.Buffer
	if err := HTML(&b, f, "rhel-10", "test", time.Unix(0, 0), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"host-nesting-off", "nestvirt enable", "nv-win11", "nv-plain"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestTheFleetPageIsOneRowPerMachineWithWhatAnAdminActsOn: the same machine
// fed twice (a live check and an older sosreport) is one row with both
// sources and the newest facts; a host checked long ago is marked stale (in
// words, not only colour); the OS column, a VM's reason, a planned topology's
// chains and findings are on the page; each row carries the CSV line
// FleetCSV writes.
func TestTheFleetPageIsOneRowPerMachineWithWhatAnAdminActsOn(t *testing.T) {
	dir := t.TempDir()
	r, a := hostWithVMs(t)
	id, name := "7c84f5f57d03433bbc549945c0adc520", "web1"
	r.Host.MachineID, r.Host.Hostname = &id, &name
	put := func(file, at string, origin doc.OriginKind, withVMs bool) {
		var d doc.CheckDoc
		if withVMs {
			d = doc.NewCheckDoc(&r, &a, nil)
		} else {
			d = doc.NewCheckDoc(&r, nil, nil)
		}
		d.CheckedAt, d.Origin = &at, &doc.Origin{Kind: origin}
		var b bytes.Buffer
		if err := report.WriteJSON(&b, d); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, file), b.Bytes(), 0o644)
	}
	put("web1-live.json", "2026-12-01T10:00:00Z", doc.OriginLive, true)
	put("web1-sos.json", "2026-11-20T10:00:00Z", doc.OriginSosreport, false)
	old := checkOf(t, "amd-l0-nested")
	oldName := "old1"
	old.Host.Hostname = &oldName
	d := doc.NewCheckDoc(&old, nil, nil)
	at := "2026-11-01T00:00:00Z"
	d.CheckedAt = &at
	var b bytes.Buffer
	report.WriteJSON(&b, d)
	os.WriteFile(filepath.Join(dir, "old1.json"), b.Bytes(), 0o644)
	plan := `{"schema":"https://nestvirt.dev/schema/plan/v1","verdict":"does-not-work","topologies":[{"file":"lab.yaml","name":"lab","verdict":"does-not-work","chains":[{"path":["host","hv","inner"],"verdict":"does-not-work","findings":[{"rule":"l0-nesting-off","level":"does-not-work","informational":false,"undetermined":false,"unknown":[],"message":"host has nesting disabled in kvm_intel","source":"s","remedy":"nestvirt enable"}]}],"error":null}],"error":null}`
	os.WriteFile(filepath.Join(dir, "plan.json"), []byte(plan), 0o644)

	f, err := fleet.Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	if err := HTML(&b, f, "rhel-10", "test", now, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, `<tr id="h`); n != 2 {
		t.Errorf("%d host rows, want 2 (web1 once, old1)", n)
	}
	for _, want := range []string{
		"1 document joined a host's row",
		"check, live, 2026-12-01 10:00: web1-live.json",
		"check, sosreport, 2026-11-20 10:00: web1-sos.json",
		filepath.Join(dir, "web1-sos.json"),
		`<td class="stale" title="2026-11-01 00:00 UTC">30 days ago</td>`,
		`2 h ago`,
		"1 host checked more than 24 h before",
		`<td>` + r.Host.OS.Name + `</td>`,
		`<td class="reason">`,
		"host → hv → inner",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if !strings.Contains(page, "host has nesting disabled in kvm_intel") {
		t.Error("the planned chain's finding is not on the page")
	}
	if !strings.Contains(page, ".stale::after { content: \" (stale)\"; }") {
		t.Error("stale is shown by colour alone")
	}
	var csv bytes.Buffer
	if err := CSV(&csv, f); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(csv.String(), "\n")
	for _, l := range lines[1 : len(lines)-1] {
		if !strings.Contains(page, `data-csv="`+template.HTMLEscapeString(l)+`"`) {
			t.Errorf("no row carries the CSV line %q", l)
		}
	}
}

// TestTheFleetCSVCannotRunAsAFormula: a host name from another machine that a
// spreadsheet would read as a formula is written inert.
func TestTheFleetCSVCannotRunAsAFormula(t *testing.T) {
	f := &fleet.Fleet{Hosts: []*fleet.Host{{Name: "=HYPERLINK(\"http://x\")"}, {Name: "@SUM(A1)"}, {Name: "web1"}}}
	var b bytes.Buffer
	if err := CSV(&b, f); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(b.String(), "\n")[1:] {
		if l != "" && strings.ContainsAny(l[:1], "=+-@") {
			t.Errorf("a cell a spreadsheet runs: %q", l)
		}
	}
}

// TestTheFleetCSVSaysWhatThePageSays: a host's worst finding is one text in
// the HTML table and in its CSV (the file and the page's download): a host
// unsupported in no listed environment, a judged host with no finding, a host
// not judged, a host with a finding.
func TestTheFleetCSVSaysWhatThePageSays(t *testing.T) {
	f := &fleet.Fleet{Hosts: []*fleet.Host{
		{Name: "a", Verdict: "unsupported"},
		{Name: "b", Verdict: "supported"},
		{Name: "c"},
		{Name: "d", Verdict: "does-not-work", Worst: &policy.Finding{Rule: "host-nesting-off", Level: policy.DoesNotWork}},
	}}
	var page, file bytes.Buffer
	if err := HTML(&page, f, "rhel-10", "test", time.Unix(0, 0), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := CSV(&file, f); err != nil {
		t.Fatal(err)
	}
	csvRows, err := csv.NewReader(&file).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(csvRows[0], "worst_finding")
	rows := regexp.MustCompile(`(?s)<tr id="h\d+"[^>]*data-csv="([^"]*)">.*?<td class="worst">(.*?)</td>`).FindAllStringSubmatch(page.String(), -1)
	if len(rows) != len(f.Hosts) || len(csvRows) != len(f.Hosts)+1 {
		t.Fatalf("%d rows in the page, %d in the CSV", len(rows), len(csvRows))
	}
	want := map[string]string{"a": "in no listed environment", "b": "none", "c": "", "d": "does-not-work host-nesting-off"}
	tags := regexp.MustCompile(`<[^>]*>`)
	for i, r := range rows {
		embedded, err := csv.NewReader(strings.NewReader(html.UnescapeString(r[1]))).Read()
		if err != nil {
			t.Fatal(err)
		}
		cell := strings.TrimSpace(html.UnescapeString(tags.ReplaceAllString(r[2], "")))
		name, inFile := csvRows[i+1][0], csvRows[i+1][col]
		if embedded[col] != inFile || inFile != want[name] {
			t.Errorf("%s: CSV file %q, page's CSV %q, want %q", name, inFile, embedded[col], want[name])
		}
		if cell != inFile && !(inFile == "" && cell == "not judged") {
			t.Errorf("%s: the page shows %q, the CSV %q", name, cell, inFile)
		}
	}
}

const snapshots = "../../probe/testdata/snapshots/"

// checkOf is the judged check of a snapshot.
func checkOf(t *testing.T, snap string) judge.CheckResult {
	return judgetest.Check(t, snapshots+snap+"/root")
}

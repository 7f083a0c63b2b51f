package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fleet"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// TestTheFleetReportRunsOnlyItsOwnScript: the page's Content-Security-Policy
// names by its hash the one script the page carries, as the browser will read
// it, and allows nothing else to run or be fetched.
func TestTheFleetReportRunsOnlyItsOwnScript(t *testing.T) {
	var b bytes.Buffer
	if err := FleetHTML(&b, &fleet.Fleet{}, "rhel-10", "test", time.Unix(0, 0)); err != nil {
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

// TestPrometheusLabelsAreValidUTF8: bytes from a machine's files that are not
// UTF-8 (an os-release name, a message quoting a file name) are replaced, so
// the textfile stays one the collector and promtool accept.
func TestPrometheusLabelsAreValidUTF8(t *testing.T) {
	r := checkOf(t, "intel-l0-ready")
	r.Host.OS.ID = "rhel\xff\xfe"
	document := doc.NewCheckDoc(&r, nil, &doc.Error{Kind: doc.ErrorInput, Message: "--root /srv/\xc3(: not a snapshot"})
	var b bytes.Buffer
	if err := CheckPrometheus(&b, document, time.Unix(0, 0), "test"); err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b.Bytes()) {
		t.Errorf("the metrics are not UTF-8:\n%q", b.String())
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(bytes.NewReader(b.Bytes())); err != nil {
		t.Errorf("expfmt: %v\n%s", err, b.String())
	}
}

// TestTheFleetReportShowsFindingsAndVMs: a fleet read back from real documents
// (a host with findings, its VMs) is written whole: its worst finding, the rule
// with its remedy, each VM with its verdict.
func TestTheFleetReportShowsFindingsAndVMs(t *testing.T) {
	dir := t.TempDir()
	r := checkOf(t, "intel-l0-nesting-off")
	var recs []domxml.Record
	for _, f := range []string{"plain.xml", "win11-wsl2.xml"} {
		data, err := os.ReadFile(filepath.Join("../domxml/testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, domxml.Record{Name: strings.TrimSuffix(f, ".xml"), State: "running", XML: data})
	}
	a := judge.VMs(policy.Default(), r.Host, recs, nil)
	for name, d := range map[string]any{"host.json": doc.NewCheckDoc(&r, &a, nil)} {
		var b bytes.Buffer
		if err := WriteJSON(&b, d); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
	}
	f, err := fleet.Load([]string{dir})
	if err != nil || len(f.Hosts) != 1 || len(f.Skipped) != 0 {
		t.Fatalf("%v: %+v", err, f)
	}
	var b bytes.Buffer
	if err := FleetHTML(&b, f, "rhel-10", "test", time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"host-nesting-off", "nestvirt enable", "nv-win11", "nv-plain"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

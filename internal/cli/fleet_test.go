package cli

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nestvirt/nestvirt/schema/schematest"
)

var fixedNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// nvAt is nv with the check's clock fixed.
func nvAt(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, now: func() time.Time { return fixedNow }}
	root := a.rootCmd()
	root.SetArgs(args)
	code := mainWith(a, root)
	return out.String(), errb.String(), code
}

// TestPrometheusMetricsHoldToTheConventions: for every situation, the metrics
// parse (expfmt) and carry what the check found; an unknown is an absent
// series (never NaN or 0); promtool reads them in the integration tests.
func TestPrometheusMetricsHoldToTheConventions(t *testing.T) {
	tests := []struct {
		snapshot string
		want     map[string]string // series -> value
		absent   []string
	}{
		{"intel-l0-nesting-off", map[string]string{"nestvirt_kvm_nested": "0", "nestvirt_kvm_nested_next_load": "1", "nestvirt_nesting_depth": "0", "nestvirt_nesting_depth_min": "0", "nestvirt_verdict_severity": "5", "nestvirt_check_success": "1"}, nil},
		{"rhel96-l1-on-kvm", map[string]string{"nestvirt_nesting_depth_min": "1"}, []string{"nestvirt_nesting_depth"}},
		{"contradictory", nil, []string{"nestvirt_kvm_nested"}},
	}
	for _, tt := range tests {
		t.Run(tt.snapshot, func(t *testing.T) {
			out, stderr, code := nvAt(t, "check", "--format", "prometheus", "--fail-on", "never", "--root", snapshots+tt.snapshot+"/root")
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			fams := parseMetrics(t, out)
			for name, want := range tt.want {
				f, ok := fams[name]
				if !ok || len(f.Metric) != 1 {
					t.Errorf("%s missing", name)
					continue
				}
				if got := model.SampleValue(f.Metric[0].GetGauge().GetValue()).String(); got != want {
					t.Errorf("%s = %s, want %s", name, got, want)
				}
			}
			for _, name := range tt.absent {
				if f, ok := fams[name]; ok {
					t.Errorf("%s is unknown but present: %v", name, f)
				}
			}
			if ts := fams["nestvirt_check_timestamp_seconds"]; ts == nil || ts.Metric[0].GetGauge().GetValue() != float64(fixedNow.Unix()) {
				t.Errorf("timestamp: %v", ts)
			}
			if len(fams["nestvirt_finding_info"].GetMetric()) == 0 || fams["nestvirt_host_info"] == nil {
				t.Errorf("no findings or no host info:\n%s", out)
			}
		})
	}
}

// TestMetricNamesFollowPrometheusGuidelines, over every snapshot and a failed
// check: a labelled series that is always 1 ends in _info; an _info series has no label
// that is a measured value (the verdict); no sample is NaN (unknown is absent);
// depth and severity have distinct names, none the ambiguous "level".
func TestMetricNamesFollowPrometheusGuidelines(t *testing.T) {
	dirs, _ := filepath.Glob(snapshots + "*")
	runs := []string{t.TempDir()} // not a snapshot: a failed check
	for _, d := range dirs {
		runs = append(runs, d+"/root")
	}
	constant := map[string]bool{} // labelled families seen, and whether every sample was 1
	for _, root := range runs {
		out, _, _ := nvAt(t, "check", "--format", "prometheus", "--fail-on", "never", "--root", root)
		for name, f := range parseMetrics(t, out) {
			if strings.HasSuffix(name, "_level") || strings.Contains(name, "_level_") {
				t.Errorf("%s: %q is ambiguous (depth or severity?)", root, name)
			}
			if _, seen := constant[name]; !seen && len(f.Metric[0].Label) > 0 {
				constant[name] = true
			}
			for _, m := range f.Metric {
				v := m.GetGauge().GetValue()
				if math.IsNaN(v) {
					t.Errorf("%s: %s is NaN (an unknown is an absent series)", root, name)
				}
				if _, ok := constant[name]; ok && v != 1 {
					constant[name] = false
				}
				if strings.HasSuffix(name, "_info") {
					for _, l := range m.Label {
						if l.GetName() == "verdict" || l.GetName() == "severity" {
							t.Errorf("%s: %s has the changing value %s as a label", root, name, l.GetName())
						}
					}
				}
			}
		}
	}
	page, err := os.ReadFile("../../docs/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, one := range constant {
		if !strings.Contains(string(page), "`"+name) {
			t.Errorf("%s is not in docs/METRICS.md", name)
		}
		if one && !strings.HasSuffix(name, "_info") {
			t.Errorf("%s is always 1 but is not named _info", name)
		}
	}
}

func parseMetrics(t *testing.T, out string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(out))
	if err != nil {
		t.Fatalf("expfmt: %v\n%s", err, out)
	}
	return fams
}

var nfdLine = regexp.MustCompile(`^nestvirt\.dev/[a-z0-9-]+=(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

// TestNFDFeatureFileIsValid: every line a comment or a nestvirt.dev label with a
// value Kubernetes accepts, an expiry time, and the facts as labels.
func TestNFDFeatureFileIsValid(t *testing.T) {
	out, _, code := nvAt(t, "check", "--format", "nfd", "--fail-on", "never", "--root", snapshots+"amd-l0-nested/root")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "#") && !nfdLine.MatchString(l) {
			t.Errorf("not a valid NFD label line: %q", l)
		}
	}
	for _, want := range []string{"# +expiry-time=2026-11-26T14:00:00Z\n", "nestvirt.dev/verdict=supported\n", "nestvirt.dev/nested=true\n",
		"nestvirt.dev/level=0\n", "nestvirt.dev/vm=none\n", "nestvirt.dev/amd-migration-blocked=true\n", "nestvirt.dev/check-ok=true\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	intel, _, _ := nvAt(t, "check", "--format", "nfd", "--root", snapshots+"intel-l0-ready/root")
	if !strings.Contains(intel, "nestvirt.dev/amd-migration-blocked=false\n") {
		t.Errorf("an Intel host:\n%s", intel)
	}
}

// TestABrokenProbeStillYieldsADocumentInEveryFormat: a fleet's report must show
// the broken host; the failure is inside the document, and the exit code says it.
func TestABrokenProbeStillYieldsADocumentInEveryFormat(t *testing.T) {
	bad := t.TempDir() // holds nothing nestvirt reads: not a snapshot
	for _, format := range []string{"json", "prometheus", "nfd"} {
		out, stderr, code := nvAt(t, "check", "--format", format, "--root", bad)
		if code != ExitInput || !strings.Contains(stderr, "not a snapshot") {
			t.Errorf("%s: exit %d %s", format, code, stderr)
		}
		switch format {
		case "json":
			if err := schematest.Validate("check", []byte(out)); err != nil || !strings.Contains(out, `"kind": "input"`) {
				t.Errorf("json: %v\n%s", err, out)
			}
		case "prometheus":
			p := expfmt.NewTextParser(model.UTF8Validation)
			if _, err := p.TextToMetricFamilies(strings.NewReader(out)); err != nil {
				t.Errorf("prometheus: %v\n%s", err, out)
			}
			if !strings.Contains(out, "nestvirt_check_success 0\n") || !strings.Contains(out, `nestvirt_check_error_info{kind="input"`) {
				t.Errorf("prometheus:\n%s", out)
			}
		case "nfd":
			if !strings.Contains(out, "nestvirt.dev/check-ok=false\n") || !strings.Contains(out, "nestvirt.dev/verdict=unknown\n") {
				t.Errorf("nfd:\n%s", out)
			}
		}
	}
	// vms with libvirt unreachable, and a plan of nothing: documents too.
	out, _, code := nv(t, "", "vms", "--format", "json", "--root", snapshots+"intel-l0-ready/root", "-c", "qemu:///system?socket=/nonexistent/sock")
	if code != ExitDependency || !strings.Contains(out, `"kind": "dependency"`) || !strings.Contains(out, `"arch": "x86_64"`) {
		t.Errorf("vms: %d\n%s", code, out)
	}
	out, _, code = nv(t, "", "plan", "--format", "json", t.TempDir())
	if code != ExitInput || !strings.Contains(out, "no topology files") {
		t.Errorf("plan: %d\n%s", code, out)
	}
}

// TestSchemaCommandPrintsAValidatingBundle: what `nestvirt schema check` prints
// is one self-contained schema, with every document's schema listed.
func TestSchemaCommandPrintsAValidatingBundle(t *testing.T) {
	list, _, code := nv(t, "", "schema")
	for _, n := range []string{"check", "plan", "vms", "matrix"} {
		if code != ExitOK || !strings.Contains(list, "https://nestvirt.dev/schema/"+n+"/v1") {
			t.Errorf("schema list: %s", list)
		}
		b, _, code := nv(t, "", "schema", n)
		if code != ExitOK || !strings.Contains(b, `"nestvirt-defs"`) || !strings.Contains(b, `"$id": "https://nestvirt.dev/schema/`+n+`/v1"`) {
			t.Errorf("schema %s: %d\n%.300s", n, code, b)
		}
	}
	if _, stderr, code := nv(t, "", "schema", "nope"); code != ExitInput || !strings.Contains(stderr, "one of: check, matrix, plan, vms") {
		t.Errorf("unknown: %d %s", code, stderr)
	}
}

// TestReportWritesCSVAndRefusesAStaleLimitBelowZero: --format csv is a row per
// machine with its header; a --stale-after that is not above zero is bad input.
func TestReportWritesCSVAndRefusesAStaleLimitBelowZero(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"intel-l0-nesting-off", "amd-l0-nested"} {
		out, _, _ := nvAt(t, "check", "--format", "json", "--fail-on", "never", "--root", snapshots+s+"/root")
		os.WriteFile(filepath.Join(dir, s+".json"), []byte(out), 0o644)
	}
	out, stderr, code := nv(t, "", "report", dir, "--format", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "host,machine_id,verdict,position,os,") || !strings.Contains(out, "does-not-work host-nesting-off") {
		t.Errorf("exit %d %s\n%s", code, stderr, out)
	}
	for _, bad := range []string{"0s", "-1h"} {
		if _, stderr, code := nv(t, "", "report", dir, "--stale-after", bad); code != ExitInput || !strings.Contains(stderr, "--stale-after") {
			t.Errorf("--stale-after %s: exit %d %s", bad, code, stderr)
		}
	}
}

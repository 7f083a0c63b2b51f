package cli

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

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
// parse (expfmt) and carry what the check found, unknown as NaN; promtool reads
// them in the integration tests.
func TestPrometheusMetricsHoldToTheConventions(t *testing.T) {
	tests := []struct {
		snapshot string
		want     map[string]string // series (as text) -> value
	}{
		{"intel-l0-nesting-off", map[string]string{"nestvirt_kvm_nested": "0", "nestvirt_kvm_nested_next_load": "1", "nestvirt_level": "0", "nestvirt_level_exact": "1", "nestvirt_verdict_level": "5", "nestvirt_check_success": "1"}},
		{"rhel96-l1-on-kvm", map[string]string{"nestvirt_level": "NaN", "nestvirt_level_min": "1", "nestvirt_level_exact": "0"}},
		{"contradictory", map[string]string{"nestvirt_kvm_nested": "NaN"}},
	}
	for _, tt := range tests {
		t.Run(tt.snapshot, func(t *testing.T) {
			out, stderr, code := nvAt(t, "check", "--format", "prometheus", "--fail-on", "never", "--root", snapshots+tt.snapshot+"/root")
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			p := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := p.TextToMetricFamilies(strings.NewReader(out))
			if err != nil {
				t.Fatalf("expfmt: %v\n%s", err, out)
			}
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
			if ts := fams["nestvirt_check_timestamp_seconds"]; ts == nil || ts.Metric[0].GetGauge().GetValue() != float64(fixedNow.Unix()) {
				t.Errorf("timestamp: %v", ts)
			}
			if len(fams["nestvirt_finding"].GetMetric()) == 0 || fams["nestvirt_host_info"] == nil {
				t.Errorf("no findings or no host info:\n%s", out)
			}
		})
	}
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

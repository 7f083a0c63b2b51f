package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/judge/judgetest"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report/nfd"
	"github.com/nestvirt/nestvirt/internal/report/prometheus"
	"github.com/nestvirt/nestvirt/internal/topology"
	"github.com/nestvirt/nestvirt/schema/schematest"
)

const snapshots = "../probe/testdata/snapshots/"

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func checkOf(t *testing.T, snap string) judge.CheckResult {
	return judgetest.Check(t, snapshots+snap+"/root")
}

// TestCheckRenderers renders real machines (snapshots) in every format check
// has: text (full, quiet, ASCII), JSON (held to its schema), Prometheus (parsed
// by the exposition parser) and NFD; each says what the verdict is.
func TestCheckRenderers(t *testing.T) {
	for _, c := range []struct {
		snap    string
		verdict string
		text    []string // in the full text
		quiet   string   // in -q; "" when -q prints nothing
		nfd     string
	}{
		{"intel-l0-ready", "supported", []string{"KVM\n", "kvm_intel", "host-l0-ready"}, "", "nestvirt.dev/verdict=supported"},
		{"amd-l0-nested", "supported", []string{"live migration: does-not-work if this host live-migrates its VMs"}, "", "nestvirt.dev/kvm-module=kvm_amd"},
		{"intel-l0-nesting-off", "does-not-work", []string{"host-nesting-off", "Remedies"}, "does-not-work host-nesting-off: ", "nestvirt.dev/verdict=does-not-work"},
		{"kvm-guest-no-vmx", "does-not-work", []string{"host-guest-hides-virt", "runs on"}, "host-guest-hides-virt", "nestvirt.dev/vm=kvm"},
		{"aarch64-no-kvm", "does-not-work", []string{"aarch64"}, "host-arch-not-nestable", "nestvirt.dev/verdict=does-not-work"},
		{"win10-l1-wsl2", "unsupported", []string{"Windows\n", "Ubuntu-24.04: WSL 2, the default", "could be supported (win-l1-supported)"}, "", "nestvirt.dev/verdict=unsupported"},
		{"ws2019-wsl1", "does-not-work", []string{"1809, build 17763.6893 (Server)", "win-wsl2-build"}, "does-not-work win-wsl2-build", ""},
	} {
		t.Run(c.snap, func(t *testing.T) {
			r := checkOf(t, c.snap)
			if r.Verdict.String() != c.verdict {
				t.Errorf("verdict %s, want %s", r.Verdict, c.verdict)
			}
			var full, quiet, ascii bytes.Buffer
			if err := CheckText(&full, r, Style{}, false, NewCites()); err != nil {
				t.Fatal(err)
			}
			for _, want := range append(c.text, "This machine: "+c.verdict) {
				if !strings.Contains(full.String(), want) {
					t.Errorf("text lacks %q:\n%s", want, full.String())
				}
			}
			CheckText(&quiet, r, Style{}, true, NewCites())
			// -q: the verdict, and the findings that decide it.
			if first, rest, _ := strings.Cut(quiet.String(), "\n"); first != "This machine: "+c.verdict || (c.quiet == "") != (rest == "") || !strings.Contains(rest, c.quiet) {
				t.Errorf("-q: %q, want %q", quiet.String(), c.quiet)
			}
			CheckText(&ascii, r, Style{ASCII: true}, false, NewCites())
			for _, b := range ascii.Bytes() {
				if b >= 0x80 && !strings.Contains(full.String(), "(R)") {
					t.Errorf("ASCII style printed a non-ASCII byte:\n%s", ascii.String())
					break
				}
			}
			document := doc.NewCheckDoc(&r, nil, nil)
			var js bytes.Buffer
			if err := WriteJSON(&js, document); err != nil {
				t.Fatal(err)
			}
			if err := schematest.Validate("check", js.Bytes()); err != nil {
				t.Errorf("JSON: %s", err)
			}
			var prom bytes.Buffer
			if err := prometheus.Check(&prom, document, now, "test"); err != nil {
				t.Fatal(err)
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			families, err := parser.TextToMetricFamilies(&prom)
			if err != nil {
				t.Fatalf("Prometheus text does not parse: %s", err)
			}
			if len(families) == 0 {
				t.Error("no metric families")
			}
			var features bytes.Buffer
			if err := nfd.Check(&features, document, now); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(features.String(), c.nfd) {
				t.Errorf("NFD lacks %q:\n%s", c.nfd, features.String())
			}
		})
	}
}

// TestVMsText renders an audit of real domain XML: the table, the details of a
// VM with findings, and -q keeping only what needs action.
func TestVMsText(t *testing.T) {
	var recs []domxml.Record
	for _, f := range []string{"plain.xml", "rhel-lab.xml", "win11-wsl2.xml"} {
		data, err := os.ReadFile(filepath.Join("../domxml/testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, domxml.Record{Name: strings.TrimSuffix(f, ".xml"), State: "shut off", XML: data})
	}
	recs = append(recs, domxml.Record{Name: "gone", Err: os.ErrNotExist})
	host := checkOf(t, "intel-l0-ready").Host
	a := judge.VMs(policy.Default(), host, recs, nil)
	for _, c := range []struct {
		name  string
		quiet bool
		style Style
		want  []string
		not   []string
	}{
		{"table", false, Style{}, []string{"NAME", "STATE", "win11", "gone", "error"}, nil},
		{"quiet", true, Style{}, []string{"gone"}, []string{"plain  "}},
		{"ascii", false, Style{ASCII: true}, []string{"NAME"}, []string{"→", "·"}},
	} {
		var b bytes.Buffer
		if err := VMsText(&b, a, c.style, c.quiet, NewCites()); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", c.name, w, b.String())
			}
		}
		for _, w := range c.not {
			if strings.Contains(b.String(), w) {
				t.Errorf("%s has %q:\n%s", c.name, w, b.String())
			}
		}
	}
	var js bytes.Buffer
	WriteJSON(&js, doc.NewVMsDoc(&a, &host, nil))
	if err := schematest.Validate("vms", js.Bytes()); err != nil {
		t.Errorf("vms JSON: %s", err)
	}
}

// TestPlanRenderers renders the example topologies as text, -q and JSON.
func TestPlanRenderers(t *testing.T) {
	for _, c := range []struct{ file, verdict string }{
		{"wsl2-supported.yaml", "supported"},
		{"rhel-lab-tech-preview.yaml", "unsupported"},
		{"ibm-z-hugepages.yaml", "does-not-work"},
		{"cloud-and-vmware.yaml", "untested"},
	} {
		data, err := os.ReadFile("../../examples/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		top, err := topology.Parse(c.file, data)
		if err != nil {
			t.Fatal(err)
		}
		res, err := plan.Judge(policy.Default(), top)
		if err != nil {
			t.Fatal(err)
		}
		text := string(TopologyText(res, Style{}, NewCites()))
		if v := res.Verdict; v == nil || v.String() != c.verdict || !strings.Contains(text, c.verdict) {
			t.Errorf("%s: text lacks %s:\n%s", c.file, c.verdict, text)
		}
		var all bytes.Buffer
		document := NewPlanText(&all, Style{}, true)
		if err := document.Add(res); err != nil {
			t.Fatal(err)
		}
		if err := document.Close(); err != nil {
			t.Fatal(err)
		}
		_ = TopologyQuiet(res, Style{})
		var js bytes.Buffer
		jd := NewPlanJSON(&js, doc.SchemaPlan)
		if err := jd.Add(res.Verdict, TopologyJSON(res)); err != nil {
			t.Fatal(err)
		}
		if err := jd.Close(nil); err != nil {
			t.Fatal(err)
		}
		if err := schematest.Validate("plan", js.Bytes()); err != nil {
			t.Errorf("%s: plan JSON: %v", c.file, err)
		}
	}
}

// TestMatrixRenderers: the matrix as a table and as JSON held to its schema.
func TestMatrixRenderers(t *testing.T) {
	var text, js bytes.Buffer
	if err := MatrixText(&text, policy.Default(), Style{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"supported", "tech-preview", "Windows Server"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("matrix lacks %q", want)
		}
	}
	if err := MatrixJSON(&js, policy.Default()); err != nil {
		t.Fatal(err)
	}
	if err := schematest.Validate("matrix", js.Bytes()); err != nil {
		t.Errorf("matrix JSON: %s", err)
	}
}

// TestHeadlineNamesWindowsHostYAML: on Windows, the statement file is where
// Windows keeps it.
func TestHeadlineNamesWindowsHostYAML(t *testing.T) {
	h := strings.Join(Headline(checkOf(t, "win10-l1-wsl2"), Style{}), "\n")
	if !strings.Contains(h, `%ProgramData%\nestvirt\host.yaml`) || strings.Contains(h, "/etc/nestvirt") {
		t.Errorf("headline: %s", h)
	}
	if h := strings.Join(Headline(checkOf(t, "rhel96-l1-on-kvm"), Style{}), "\n"); strings.Contains(h, "ProgramData") {
		t.Errorf("Linux headline: %s", h)
	}
}

// TestNamesCannotFakeRows: a domain's name is its owner's to choose, and libvirt
// takes control characters and U+202E in it. In text output each is shown as an
// escape, so a name cannot end its row and print a fake one, move the cursor,
// or reverse the line; colours stay nestvirt's own; JSON keeps the name as it is.
func TestNamesCannotFakeRows(t *testing.T) {
	data, err := os.ReadFile("../domxml/testdata/plain.xml")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{
		"a\n  fake        running  x86_64  host-passthrough  yes  rhel9.4  kvm  supported",
		"b\r\u009b2Kfake",
		"c\u202edrow\u2066",
		"d\u009b31m",
	}
	var recs []domxml.Record
	for _, n := range names {
		var esc bytes.Buffer
		xml.EscapeText(&esc, []byte(n))
		x := regexp.MustCompile(`<name>[^<]*</name>`).ReplaceAll(data, []byte("<name>"+esc.String()+"</name>"))
		recs = append(recs, domxml.Record{Name: n, State: "shut off", XML: x})
	}
	recs = append(recs, domxml.Record{Name: "e\x07\x1b[2K\xff", Err: os.ErrNotExist})
	host := checkOf(t, "intel-l0-ready").Host
	a := judge.VMs(policy.Default(), host, recs, nil)
	for _, st := range []Style{{}, {Color: true}} {
		var b bytes.Buffer
		if err := VMsText(&b, a, st, false, NewCites()); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, bad := range []string{"\r", "\u202e", "\u2066", "\u009b", "\xff", "\x07", "\x1b[2K", "\n  fake"} {
			if strings.Contains(out, bad) {
				t.Errorf("color %v: the output holds %q:\n%s", st.Color, bad, out)
			}
		}
		for _, want := range []string{`a\n  fake`, `b\r\u009b2Kfake`, `c\u202edrow\u2066`, `d\u009b31m`, `e\x07\x1b[2K\xff`} {
			if !strings.Contains(out, want) {
				t.Errorf("color %v: the output lacks %q:\n%s", st.Color, want, out)
			}
		}
		if st.Color && !strings.Contains(out, "\x1b[1m") {
			t.Errorf("nestvirt's own colours are gone:\n%s", out)
		}
	}
	var js bytes.Buffer
	WriteJSON(&js, doc.NewVMsDoc(&a, &host, nil))
	if !strings.Contains(js.String(), `"c\u202edrow\u2066"`) && !strings.Contains(js.String(), "c\u202edrow\u2066") {
		t.Errorf("JSON changed the name:\n%s", js.String())
	}
}

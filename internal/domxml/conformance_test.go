//go:build corpora

package domxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	archpkg "github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/corpus"
)

// libvirt's own test-suite domain XML is read from beside the repository
// (package corpus), never copied in: its licence differs from ours.

// canon is a canonical form of an XML tree: elements with sorted-as-written
// attributes and trimmed text, comments and processing instructions included.
// skip decides which elements (by path) to leave out of the comparison.
func canon(t *testing.T, raw []byte, skip func(path string, start xml.StartElement) bool) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var b strings.Builder
	var path []string
	skipping := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("canon: %s", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			path = append(path, x.Name.Local)
			if skipping > 0 || skip(strings.Join(path, "/"), x) {
				skipping++
				continue
			}
			b.WriteString("<" + x.Name.Space + " " + x.Name.Local)
			for _, a := range x.Attr {
				b.WriteString(" " + a.Name.Space + ":" + a.Name.Local + "=" + a.Value)
			}
			b.WriteString(">")
		case xml.EndElement:
			path = path[:len(path)-1]
			if skipping > 0 {
				skipping--
				continue
			}
			b.WriteString("</>")
		case xml.CharData:
			if skipping == 0 {
				b.WriteString(strings.TrimSpace(string(x)))
			}
		case xml.Comment:
			if skipping == 0 {
				b.WriteString("<!--" + string(x) + "-->")
			}
		case xml.ProcInst:
			b.WriteString("<?" + x.Target + " " + string(x.Inst) + "?>")
		}
	}
	return b.String()
}

func isOurs(start xml.StartElement) bool { return start.Name.Space == Namespace }

// edited are the elements expose may touch.
func edited(path string, start xml.StartElement) bool {
	return path == "domain/cpu" || path == "domain/features/hyperv" || isOurs(start)
}

func exposes(t *testing.T, raw []byte, feat string) bool {
	d, err := parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	cpu, ok := d.top("cpu")
	if !ok {
		return false
	}
	switch cpu.attr("mode") {
	case "host-passthrough", "maximum":
		return true
	}
	for _, c := range cpu.Children {
		if c.Name == "feature" && c.attr("name") == feat && (c.attr("policy") == "require" || c.attr("policy") == "force") {
			return true
		}
	}
	return false
}

func TestExposeLosesNothingOverLibvirtsOwnDomains(t *testing.T) {
	libvirtXML, err := corpus.Dir("conformance/libvirt-xml")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(libvirtXML, "*.xml"))
	if err != nil || len(files) < 150 {
		t.Fatalf("libvirt domain XML in %s: %d files, %v", libvirtXML, len(files), err)
	}
	exposed, refused := 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		for _, hyperv := range []bool{false, true} {
			res, err := Expose(raw, ExposeOptions{Vendor: "intel", Hyperv: hyperv})
			if errors.Is(err, ErrNotDomain) {
				continue
			}
			d, perr := parse(raw)
			if perr != nil {
				t.Errorf("%s: %v", name, perr)
				continue
			}
			arch := d.arch()
			if err != nil {
				// Refused: on an arch where nesting does not work, or a
				// definition libvirt does not take (no <name>: libvirt's own
				// vmx2xml conversions have none).
				noName := strings.Contains(err.Error(), "has no <name>") && !bytes.Contains(raw, []byte("<name>"))
				if !noName && (archpkg.Of(arch, "intel").Nestable || !strings.Contains(err.Error(), "does not work")) {
					t.Errorf("%s (arch %q): %v", name, arch, err)
				}
				refused++
				continue
			}
			exposed++
			// Nothing outside the edited elements changes, and no metadata we did
			// not write: compare trees without cpu, hyperv and our element; an
			// empty <metadata> we created is no loss either.
			skip := func(path string, s xml.StartElement) bool {
				return edited(path, s) || (path == "domain/metadata" && !bytes.Contains(raw, []byte("<metadata"))) ||
					(hyperv && path == "domain/features" && !bytes.Contains(raw, []byte("<features")))
			}
			if a, b := canon(t, raw, skip), canon(t, res.XML, skip); a != b {
				t.Errorf("%s: expose changed something outside <cpu>/<hyperv>/metadata:\n%s\n%s", name, a, b)
			}
			if !exposes(t, res.XML, archpkg.Of(arch, "intel").Flag) {
				t.Errorf("%s: result does not expose %s:\n%s", name, archpkg.Of(arch, "intel").Flag, res.XML)
			}
			// Idempotent: a second expose changes nothing.
			again, err := Expose(res.XML, ExposeOptions{Vendor: "intel", Hyperv: hyperv})
			if err != nil || again.Changed {
				t.Errorf("%s: second expose changed=%v err=%v", name, again.Changed, err)
			}
			// Unexpose restores the original tree, <cpu> and <hyperv> included.
			if res.Changed {
				back, err := Unexpose(res.XML)
				if err != nil {
					t.Errorf("%s: unexpose: %v", name, err)
					continue
				}
				onlyEmptyMD := func(path string, s xml.StartElement) bool {
					return path == "domain/metadata" && !bytes.Contains(raw, []byte("<metadata"))
				}
				if a, b := canon(t, raw, onlyEmptyMD), canon(t, back.XML, onlyEmptyMD); a != b {
					t.Errorf("%s: unexpose did not restore the original:\n%s\n%s", name, a, b)
				}
			}
		}
	}
	if exposed < 100 {
		t.Errorf("only %d files exposed (%d refused)", exposed, refused)
	}
	t.Logf("%d exposed, %d refused (arches where nesting does not work)", exposed, refused)
}

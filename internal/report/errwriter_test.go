package report

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fulldisk"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report/nfd"
	"github.com/nestvirt/nestvirt/internal/report/prometheus"
)

// TestEveryRendererReturnsTheWriteError: each renderer, given a writer that
// fails at the start, in the middle or at the last byte, returns the failure.
func TestEveryRendererReturnsTheWriteError(t *testing.T) {
	r := checkOf(t, "amd-l0-nested")
	off := checkOf(t, "intel-l0-nesting-off") // -q prints what needs action
	document := doc.NewCheckDoc(&r, nil, nil)
	recs := []domxml.Record{}
	for _, f := range []string{"plain.xml", "win11-wsl2.xml"} {
		data, err := os.ReadFile(filepath.Join("../domxml/testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, domxml.Record{Name: strings.TrimSuffix(f, ".xml"), State: "shut off", XML: data})
	}
	audit := judge.VMs(policy.Default(), r.Host, recs, nil)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	renderers := map[string]func(io.Writer) error{
		"check text":  func(w io.Writer) error { return CheckText(w, r, Style{}, false, NewCites()) },
		"check -q":    func(w io.Writer) error { return CheckText(w, off, Style{}, true, NewCites()) },
		"check json":  func(w io.Writer) error { return WriteJSON(w, document) },
		"prometheus":  func(w io.Writer) error { return prometheus.Check(w, document, now, "test") },
		"nfd":         func(w io.Writer) error { return nfd.Check(w, document, now) },
		"vms text":    func(w io.Writer) error { return VMsText(w, audit, Style{}, false, NewCites()) },
		"matrix text": func(w io.Writer) error { return MatrixText(w, policy.Default(), Style{}) },
		"matrix json": func(w io.Writer) error { return MatrixJSON(w, policy.Default()) },
		"sources": func(w io.Writer) error {
			c := NewCites()
			c.Number("a source")
			return Style{}.WriteSources(w, c)
		},
		"diff": func(w io.Writer) error {
			return Diff(w, "etc/kvm.conf", []byte("options kvm_amd nested=1\n"), []byte("options kvm_amd nested=0\n"), false)
		},
	}
	for name, render := range renderers {
		var full bytes.Buffer
		if err := render(&full); err != nil || full.Len() == 0 {
			t.Fatalf("%s: %v, %d bytes", name, err, full.Len())
		}
		for _, after := range []int{0, full.Len() / 2, full.Len() - 1} {
			if err := render(&fulldisk.Writer{Room: after}); err == nil {
				t.Errorf("%s: a write failing after %d of %d bytes was not reported", name, after, full.Len())
			}
		}
	}
}

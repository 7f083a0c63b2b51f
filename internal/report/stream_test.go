package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// TestStreamedJSONIsEncodingJSONs: a vms document written domain by domain on
// all CPUs is byte for byte what encoding/json writes of it: real domain XML,
// an unreadable domain, names with what JSON and HTML escape, nulls and empty
// lists; one domain, many, none.
func TestStreamedJSONIsEncodingJSONs(t *testing.T) {
	var recs []domxml.Record
	for _, f := range []string{"plain.xml", "rhel-lab.xml", "win11-wsl2.xml", "hostmodel.xml"} {
		data, err := os.ReadFile(filepath.Join("../domxml/testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, domxml.Record{Name: strings.TrimSuffix(f, ".xml"), State: "running", XML: data})
	}
	recs = append(recs, domxml.Record{Name: `gone "<&>" ü`, Err: os.ErrNotExist})
	host := checkOf(t, "intel-l0-ready").Host
	for _, n := range []int{0, 1, 2, len(recs), 300} {
		var rs []domxml.Record
		for i := 0; i < n; i++ {
			r := recs[i%len(recs)]
			r.Name += strings.Repeat("\u2028\t", i%3)
			rs = append(rs, r)
		}
		a := judge.VMs(policy.Default(), host, rs, nil)
		a.Notes = append(a.Notes, "a note with <html> & \"quotes\"")
		for _, document := range []doc.VMsDoc{doc.NewVMsDoc(&a, &host, nil), doc.NewVMsDoc(&a, nil, &doc.Error{Kind: doc.ErrorDependency, Message: "x"}), doc.NewVMsDoc(nil, nil, nil)} {
			var want, got bytes.Buffer
			if err := JSON(&want, document); err != nil {
				t.Fatal(err)
			}
			if err := streamJSON(&got, document, "vms"); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("%d domains: streamed JSON differs:\n%s\nencoding/json:\n%s", n, got.String(), want.String())
			}
		}
	}
}

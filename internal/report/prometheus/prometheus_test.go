package prometheus

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/judge/judgetest"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestPrometheusLabelsAreValidUTF8: bytes from a machine's files that are not
// UTF-8 (an os-release name, a message quoting a file name) are replaced, so
// the textfile stays one the collector and promtool accept.
func TestPrometheusLabelsAreValidUTF8(t *testing.T) {
	r := checkOf(t, "intel-l0-ready")
	r.Host.OS.ID = "rhel\xff\xfe"
	document := doc.NewCheckDoc(&r, nil, &doc.Error{Kind: doc.ErrorInput, Message: "--root /srv/\xc3(: not a snapshot"})
	var b bytes.Buffer
	if err := Check(&b, document, time.Unix(0, 0), "test"); err != nil {
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

const snapshots = "../../probe/testdata/snapshots/"

// checkOf is the judged check of a snapshot.
func checkOf(t *testing.T, snap string) judge.CheckResult {
	return judgetest.Check(t, snapshots+snap+"/root")
}

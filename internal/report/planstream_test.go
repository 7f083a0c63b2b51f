package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// TestPlanJSONHoldsTopologiesOnlyUntilTheVerdictIsKnown: whatever the order
// of the verdicts and wherever the held topologies wait (memory or the
// temporary file), the document is the same: the worst verdict first, every
// topology in order. With the worst level there is, it is written at once.
func TestPlanJSONHoldsTopologiesOnlyUntilTheVerdictIsKnown(t *testing.T) {
	lv := func(l policy.Level) *policy.Level { return &l }
	tests := []struct {
		name     string
		verdicts []*policy.Level
		want     string
	}{
		{"no topology", nil, "null"},
		{"none judged", []*policy.Level{nil, nil}, "null"},
		{"all supported", []*policy.Level{lv(policy.Supported), lv(policy.Supported)}, `"supported"`},
		{"the worst last", []*policy.Level{lv(policy.Supported), nil, lv(policy.TechPreview), lv(policy.DoesNotWork)}, `"does-not-work"`},
		{"the worst first", []*policy.Level{lv(policy.DoesNotWork), lv(policy.Supported), nil}, `"does-not-work"`},
	}
	for _, tt := range tests {
		for _, hold := range []int{holdInMemory, 1, 40} {
			var out bytes.Buffer
			d := NewPlanJSON(&out, doc.SchemaPlan)
			d.hold = hold
			var want []string
			early := false
			for i, v := range tt.verdicts {
				topo := fmt.Sprintf(`{"file": "t%d.yaml"}`, i)
				want = append(want, topo)
				if err := d.Add(v, []byte(topo)); err != nil {
					t.Fatal(err)
				}
				early = early || strings.Contains(out.String(), `"verdict"`) || d.decided
			}
			if d.worst != nil && *d.worst == policy.DoesNotWork && !early {
				t.Errorf("%s: the worst level there is did not start the document", tt.name)
			}
			if err := d.Close(nil); err != nil {
				t.Fatal(err)
			}
			var parsed struct {
				Verdict    json.RawMessage
				Topologies []json.RawMessage
			}
			if err := json.Unmarshal(out.Bytes(), &parsed); err != nil {
				t.Fatalf("%s (hold %d): %v\n%s", tt.name, hold, err, out.String())
			}
			var got []string
			for _, x := range parsed.Topologies {
				got = append(got, string(x))
			}
			if string(parsed.Verdict) != tt.want || strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s (hold %d): verdict %s, topologies %v", tt.name, hold, parsed.Verdict, got)
			}
			if hold == holdInMemory {
				continue
			}
			// The same bytes whether held in memory or in the temporary file.
			var ref bytes.Buffer
			r := NewPlanJSON(&ref, doc.SchemaPlan)
			for i, v := range tt.verdicts {
				r.Add(v, []byte(fmt.Sprintf(`{"file": "t%d.yaml"}`, i)))
			}
			r.Close(nil)
			if ref.String() != out.String() {
				t.Errorf("%s (hold %d): differs from the document held in memory:\n%s\n%s", tt.name, hold, out.String(), ref.String())
			}
		}
	}
}

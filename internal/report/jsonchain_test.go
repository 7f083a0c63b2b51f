package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// marshalIndent is the reference: encoding/json, indented, HTML escaping off.
func marshalIndent(t *testing.T, v any, prefix string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	odd := "quote \" backslash \\ nl \n tab \t cr \r ctl \x01\x1f bell \b ff \f html <&> ls \u2028 ps \u2029 bad \xff\xfe ok é ✓"
	dnw := policy.DoesNotWork
	lab := "lab"
	results := []plan.TopologyResult{
		{File: "a.yaml", Name: &lab, Verdict: &dnw, Chains: []policy.ChainResult{
			{Path: []string{"host", "win", odd}, Verdict: policy.DoesNotWork, Findings: []policy.Finding{
				{Rule: "amd-migration", Level: policy.DoesNotWork, Message: odd, Source: "src \"q\"", Remedy: "nestvirt disable <x> & " + odd, Unknown: []string{}},
				{Rule: "no-unknown-list", Level: policy.Untested, Message: "m", Source: "s"},
				{Rule: "l0-features", Level: policy.Supported, Informational: true, Message: "m", Source: "s", Unknown: []string{}},
				{Rule: "matrix/wsl2", Level: policy.Supported, Undetermined: true, Unknown: []string{"l0.os", odd}, Message: "m", Source: "s"},
			}},
			{Path: []string{"host"}, Verdict: policy.Supported, Findings: []policy.Finding{}},
			{Path: []string{}, Verdict: policy.Supported},
		}},
		{File: odd, Chains: []policy.ChainResult{}, Error: plan.ErrorOf(odd, errors.New("bad <file> & "+odd))},
		{File: "empty.yaml", Chains: []policy.ChainResult{}},
	}
	for _, r := range results {
		if got, want := appendTopology(nil, r, "    "), marshalIndent(t, r, "    "); !bytes.Equal(got, want) {
			t.Errorf("topology differs:\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("\x00\xff\u2028<>&\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		want = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s want %s", s, got, want)
		}
	})
}

// TestPlanJSONIsThePlanDocument: the plan document PlanJSON streams is, byte for
// byte, encoding/json's writing of doc.PlanDoc, over every example topology (the
// appender is kept only while this holds), and for a run that failed before
// judging.
func TestPlanJSONIsThePlanDocument(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) < 5 {
		t.Fatalf("only %d fixtures", len(files))
	}
	var results []plan.TopologyResult
	err := plan.Each(policy.Default(), files, nil, func(_ int, r plan.TopologyResult, _ *plan.InputError) plan.TopologyResult { return r },
		func(_ int, r plan.TopologyResult) error { results = append(results, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if got, want := appendTopology(nil, r, "    "), marshalIndent(t, r, "    "); !bytes.Equal(got, want) {
			t.Errorf("%s: the appended topology differs from encoding/json's:\n got %s\nwant %s", r.File, got, want)
		}
	}
	var worst *policy.Level
	var streamed bytes.Buffer
	w := NewPlanJSON(&streamed, doc.SchemaPlan)
	for _, r := range results {
		if v := r.Verdict; v != nil && (worst == nil || *v > *worst) {
			worst = v
		}
		if err := w.Add(r.Verdict, AppendTopologyJSON(nil, r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	want := append(marshalIndent(t, doc.PlanDoc{Schema: doc.SchemaPlan, Verdict: worst, Topologies: results}, ""), '\n')
	if !bytes.Equal(streamed.Bytes(), want) {
		t.Errorf("the streamed plan document differs from doc.PlanDoc's:\n got %s\nwant %s", streamed.Bytes(), want)
	}
	var failed bytes.Buffer
	fail := &doc.Error{Kind: doc.ErrorInput, Message: "no such file <x> & \"y\""}
	if err := WritePlanJSON(&failed, doc.SchemaPlan, fail); err != nil {
		t.Fatal(err)
	}
	want = append(marshalIndent(t, doc.PlanDoc{Schema: doc.SchemaPlan, Topologies: []plan.TopologyResult{}, Error: fail}, ""), '\n')
	if !bytes.Equal(failed.Bytes(), want) {
		t.Errorf("a failed plan differs from doc.PlanDoc's:\n got %s\nwant %s", failed.Bytes(), want)
	}
}

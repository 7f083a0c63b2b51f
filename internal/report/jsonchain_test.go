package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

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

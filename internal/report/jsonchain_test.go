package report

import (
	"bytes"
	"encoding/json"
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
	results := []plan.TopologyResult{
		{File: "a.yaml", Name: "lab", Verdict: policy.DoesNotWork, Chains: []policy.ChainResult{
			{Path: []string{"host", "win", odd}, Verdict: policy.DoesNotWork, Findings: []policy.Finding{
				{Rule: "amd-migration", Level: policy.DoesNotWork, Message: odd, Source: "src \"q\"", Remedy: "echo 'x' > /etc/modprobe.d/kvm.conf"},
				{Rule: "l0-features", Level: policy.Supported, Informational: true, Message: "m", Source: "s"},
			}},
			{Path: []string{"host"}, Verdict: policy.Supported, Findings: []policy.Finding{}},
			{Path: []string{}, Verdict: policy.Supported},
		}},
		{File: odd, Chains: nil},
		{File: "empty.yaml", Chains: []policy.ChainResult{}},
	}
	for _, r := range results {
		if got, want := appendTopology(nil, r, "    "), marshalIndent(t, r, "    "); !bytes.Equal(got, want) {
			t.Errorf("topology differs:\n got %s\nwant %s", got, want)
		}
		single := struct {
			Verdict policy.Level         `json:"verdict"`
			Chains  []policy.ChainResult `json:"chains"`
		}{r.Verdict, r.Chains}
		if got, want := appendSingle(nil, r), marshalIndent(t, single, ""); !bytes.Equal(got, want) {
			t.Errorf("single differs:\n got %s\nwant %s", got, want)
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

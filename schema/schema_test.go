package schema

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestEachBundleStandsAlone: a validator given only what `nestvirt schema NAME`
// prints compiles it and judges documents with it.
func TestEachBundleStandsAlone(t *testing.T) {
	docs := map[string]struct{ good, bad string }{
		"check":  {`{"schema":"https://nestvirt.dev/schema/check/v1","verdict":null,"host":null,"findings":[],"vms":null,"error":{"kind":"input","message":"x"}}`, `{"schema":"https://nestvirt.dev/schema/check/v1","verdict":"fine","host":null,"findings":[],"vms":null,"error":null}`},
		"plan":   {`{"schema":"https://nestvirt.dev/schema/plan/v1","verdict":null,"topologies":[],"error":null}`, `{"schema":"https://nestvirt.dev/schema/plan/v1","verdict":null,"topologies":[]}`},
		"vms":    {`{"schema":"https://nestvirt.dev/schema/vms/v1","verdict":null,"host":null,"uri":null,"notes":[],"vms":[],"error":null}`, `{"schema":"https://nestvirt.dev/schema/vms/v1","verdict":null,"host":null,"uri":null,"notes":[],"vms":[],"error":null,"extra":1}`},
		"matrix": {`{"schema":"https://nestvirt.dev/schema/matrix/v1","policy":"p","title":"t","document":"d","tables":[]}`, `{"schema":"https://nestvirt.dev/schema/plan/v1","policy":"p","title":"t","document":"d","tables":[]}`},
	}
	if got := strings.Join(Names(), ","); got != "check,matrix,plan,vms" {
		t.Fatalf("names %s", got)
	}
	for name, d := range docs {
		b, err := Bundle(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		id := "https://nestvirt.dev/schema/" + name + "/v1"
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile(id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for text, ok := range map[string]bool{d.good: true, d.bad: false} {
			v, _ := jsonschema.UnmarshalJSON(strings.NewReader(text))
			if err := s.Validate(v); (err == nil) != ok {
				t.Errorf("%s: %s: %v", name, text, err)
			}
		}
	}
}

// TestTheREADMEListsEachDocumentsKeys: the README shows each command's JSON as
// its top-level keys ("nestvirt check --format json  # {...}"); they are the
// schema's, all of them (checked_at and origin were missing).
func TestTheREADMEListsEachDocumentsKeys(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^nestvirt (check|vms|plan) [^#\n]*--format json[^#\n]*# (\{.*\})`)
	found := map[string]bool{}
	for _, m := range line.FindAllStringSubmatch(string(readme), -1) {
		found[m[1]] = true
		// The top-level keys: quoted names at the first level of braces.
		var keys []string
		depth := 0
		for i := 0; i < len(m[2]); i++ {
			switch c := m[2][i]; {
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
			case c == '"' && depth == 1:
				j := strings.IndexByte(m[2][i+1:], '"')
				keys = append(keys, m[2][i+1:i+1+j])
				i += j + 1
			}
		}
		var s struct{ Properties map[string]any }
		b, err := os.ReadFile(m[1] + ".v1.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(maps.Keys(s.Properties))
		got := slices.Sorted(slices.Values(keys))
		if !slices.Equal(got, want) {
			t.Errorf("the README shows %s's JSON as %v; its schema has %v", m[1], got, want)
		}
	}
	for _, c := range []string{"check", "vms", "plan"} {
		if !found[c] {
			t.Errorf("the README shows no key list of %s's JSON", c)
		}
	}
}

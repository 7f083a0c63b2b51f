package schema

import (
	"bytes"
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

package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/schema"
	"github.com/nestvirt/nestvirt/schema/schematest"
)

// documents are every JSON document the repository holds as nestvirt's real
// output (the CLI's golden files) and this package's own.
func documents(t testing.TB) map[string][]byte {
	docs := map[string][]byte{"checkWeb1": []byte(checkWeb1), "checkBroken": []byte(checkBroken), "vmsWeb1": []byte(vmsWeb1), "plan": []byte(plan)}
	files, _ := filepath.Glob("../cli/testdata/golden/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = b
	}
	if len(docs) < 10 {
		t.Fatalf("only %d documents", len(docs))
	}
	return docs
}

func decodeAs(kind string, data []byte) error {
	switch kind {
	case "check":
		return decode(kind, data, &doc.CheckDoc{})
	case "vms":
		return decode(kind, data, &doc.VMsDoc{})
	case "plan":
		return decode(kind, data, &doc.PlanDoc{})
	}
	return nil
}

// TestTheFleetAcceptsWhatTheSchemaAccepts: a document the JSON Schema takes, the
// fleet reads (real outputs, and valid documents of unusual shape); a document
// wrong where the fleet reads it, the fleet refuses, naming the place.
func TestTheFleetAcceptsWhatTheSchemaAccepts(t *testing.T) {
	valid := documents(t)
	// 1.0 is an integer to JSON Schema; optional members of later 0.x releases.
	valid["level as 1.0"] = []byte(strings.Replace(checkWeb1, `"level":0,`, `"level":0.0,`, 1))
	valid["os_note and agent_os"] = []byte(strings.Replace(vmsWeb1, `"runs":"wsl2"`, `"runs":"wsl2","os_note":null,"agent_os":null,"agent_chains":null`, 1))
	for name, doc := range valid {
		kind := schema.Which(doc)
		if kind == "" {
			t.Fatalf("%s: no schema", name)
		}
		if err := schematest.Validate(kind, doc); err != nil {
			t.Fatalf("%s is not a valid %s document: %v", name, kind, err)
		}
		if err := decodeAs(kind, doc); err != nil {
			t.Errorf("%s: the schema takes it, the fleet refuses it: %v", name, err)
		}
	}
	invalid := []struct{ name, doc, want string }{
		{"a verdict no level", strings.Replace(checkWeb1, `"verdict":"does-not-work"`, `"verdict":"fine"`, 1), `verdict: string "fine" is not a level`},
		{"a finding's level", strings.Replace(checkWeb1, `"level":"supported"`, `"level":"ok"`, 1), `findings.level: string "ok" is not a level`},
		{"a boolean as a string", strings.Replace(checkWeb1, `"nested":false`, `"nested":"no"`, 1), `host.kvm.nested: a JSON string where the schema has a boolean`},
		{"no error member", strings.Replace(checkBroken, `,"error":{"kind":"input","message":"--root /x: not a snapshot"}`, ``, 1), `no "error" member`},
		{"a VM's verdict", strings.Replace(vmsWeb1, `"verdict":"supported","chains"`, `"verdict":null,"chains"`, 1), `vms.verdict`},
		{"a topology's verdict", strings.Replace(plan, `"verdict":"supported","chains"`, `"verdict":"great","chains"`, 1), `topologies.verdict`},
		{"not JSON", `{"schema":"https://nestvirt.dev/schema/check/v1",`, `not JSON`},
	}
	for _, tt := range invalid {
		kind := schema.Which([]byte(tt.doc))
		if kind == "" {
			kind = "check"
		}
		if schematest.Validate(kind, []byte(tt.doc)) == nil {
			t.Errorf("%s: the schema takes it", tt.name)
		}
		if err := decodeAs(kind, []byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzTheFleetAcceptsWhatTheSchemaAccepts: whatever the bytes, decode never
// panics, and never refuses a document the schema takes.
func FuzzTheFleetAcceptsWhatTheSchemaAccepts(f *testing.F) {
	for _, d := range documents(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kind := schema.Which(data)
		if kind == "" || kind == "matrix" {
			return
		}
		err := decodeAs(kind, data)
		if err != nil && schematest.Validate(kind, data) == nil {
			t.Fatalf("the schema takes it, the fleet refuses it: %s", err)
		}
	})
}

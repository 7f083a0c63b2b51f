// Package schema holds the JSON Schemas (2020-12) of nestvirt's JSON documents,
// one file per document and version, and the definitions they share.
package schema

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed *.json
var FS embed.FS

// Names lists the documents that have a schema: check, plan, vms, matrix.
func Names() []string {
	ents, _ := FS.ReadDir(".")
	var out []string
	for _, e := range ents {
		n := strings.TrimSuffix(e.Name(), ".v1.json")
		if n != "defs" && n != e.Name() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Raw is a schema file as committed.
func Raw(name string) ([]byte, error) {
	b, err := FS.ReadFile(name + ".v1.json")
	if err != nil {
		return nil, fmt.Errorf("no schema %q (one of: %s)", name, strings.Join(Names(), ", "))
	}
	return b, nil
}

// Bundle is a document's schema with the shared definitions embedded under
// $defs (a compound schema document, as JSON Schema 2020-12 allows): one file
// a validator can load alone, its references resolved by $id.
func Bundle(name string) ([]byte, error) {
	raw, err := Raw(name)
	if err != nil {
		return nil, err
	}
	defs, err := FS.ReadFile("defs.v1.json")
	if err != nil {
		return nil, err
	}
	var doc, d map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := json.Unmarshal(defs, &d); err != nil {
		return nil, err
	}
	delete(d, "$schema")
	ds, _ := doc["$defs"].(map[string]any)
	if ds == nil {
		ds = map[string]any{}
	}
	ds["nestvirt-defs"] = d
	doc["$defs"] = ds
	return json.MarshalIndent(doc, "", "  ")
}

// ID is a document's schema id, which the document names in its "schema" field.
func ID(name string) string { return "https://nestvirt.dev/schema/" + name + "/v1" }

// Which names the schema a document says it holds to ("" when none nestvirt
// writes).
func Which(doc []byte) string {
	var head struct{ Schema string }
	if json.Unmarshal(doc, &head) != nil {
		return ""
	}
	for _, n := range Names() {
		if head.Schema == ID(n) {
			return n
		}
	}
	return ""
}

// Required lists the members the named document must have at its top, as its
// schema says; nil for a name without a schema.
func Required(name string) []string {
	b, err := FS.ReadFile(name + ".v1.json")
	if err != nil {
		return nil
	}
	var top struct{ Required []string }
	if json.Unmarshal(b, &top) != nil {
		return nil
	}
	return top.Required
}

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

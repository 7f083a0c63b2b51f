package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	loadErr  error
)

// load compiles every schema, each file added under its $id so that references
// between them resolve as published.
func load() {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	ents, err := FS.ReadDir(".")
	if err != nil {
		loadErr = err
		return
	}
	for _, e := range ents {
		b, err := FS.ReadFile(e.Name())
		if err != nil {
			loadErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			loadErr = fmt.Errorf("%s: %w", e.Name(), err)
			return
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			loadErr = fmt.Errorf("%s: %w", e.Name(), err)
			return
		}
	}
	compiled = map[string]*jsonschema.Schema{}
	for _, name := range Names() {
		s, err := c.Compile(ID(name))
		if err != nil {
			loadErr = fmt.Errorf("%s: %w", name, err)
			return
		}
		compiled[name] = s
	}
}

// ID is a document's schema id, which the document names in its "schema" field.
func ID(name string) string { return "https://nestvirt.dev/schema/" + name + "/v1" }

// Validate checks a document against the named schema (check, plan, vms,
// matrix), and that it names that schema.
func Validate(name string, doc []byte) error {
	once.Do(load)
	if loadErr != nil {
		return loadErr
	}
	s, ok := compiled[name]
	if !ok {
		return fmt.Errorf("no schema %q", name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return err
	}
	var head struct{ Schema string }
	json.Unmarshal(doc, &head)
	if head.Schema != ID(name) {
		return fmt.Errorf("the document names schema %q", head.Schema)
	}
	return nil
}

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

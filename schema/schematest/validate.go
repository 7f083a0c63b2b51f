// Package schematest validates documents against nestvirt's JSON Schemas with a
// real validator (santhosh-tekuri/jsonschema). Only tests and scripts import it:
// the validator compiles its meta-schemas at package initialisation (8 ms and
// 1.7 MB here), which every nestvirt command, the guard hook among them, would
// pay at start.
package schematest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nestvirt/nestvirt/schema"
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
	ents, err := schema.FS.ReadDir(".")
	if err != nil {
		loadErr = err
		return
	}
	for _, e := range ents {
		b, err := schema.FS.ReadFile(e.Name())
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
	for _, name := range schema.Names() {
		s, err := c.Compile(schema.ID(name))
		if err != nil {
			loadErr = fmt.Errorf("%s: %w", name, err)
			return
		}
		compiled[name] = s
	}
}

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
	if head.Schema != schema.ID(name) {
		return fmt.Errorf("the document names schema %q", head.Schema)
	}
	return nil
}

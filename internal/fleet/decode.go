package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/schema"
)

// Decode is decode, for what reads nestvirt's documents back elsewhere (the
// ones a sosreport recorded).
func Decode(kind string, data []byte, v any) error {
	if len(data) > MaxDocument {
		return fmt.Errorf("larger than %d MiB", MaxDocument>>20)
	}
	return decode(kind, data, v)
}

// decode reads a document of kind into v, one of package doc's types, the
// definitions nestvirt writes with: the members its schema requires at the top
// must be there, every value of its type, every verdict and level one of the
// policy's (policy.Level refuses any other). It never refuses what the schema
// accepts: an integer written as 1.0 is one.
//
// It is not a JSON Schema validator, on purpose: the validator nestvirt's tests
// use compiles its meta-schemas when its package initialises (8 ms and 1.7 MB
// here), which every command, the guard hook among them, would pay at start for
// the one that reads documents back. Every document nestvirt writes is held to
// the full schema by its tests, and TestTheFleetAcceptsWhatTheSchemaAccepts holds
// decode to taking every document the schema takes.
func decode(kind string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return errors.New("not a JSON object")
	}
	for _, k := range schema.Required(kind) {
		if _, ok := obj[k]; !ok {
			return fmt.Errorf("no %q member", k)
		}
	}
	// JSON Schema's integers include 1.0; encoding/json's do not.
	norm, err := json.Marshal(integral(top))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(norm, v); err != nil {
		return jsonProblem(err)
	}
	return nil
}

// integral writes every number that is an integer as one: 1.0 and 1e0 as 1.
func integral(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = integral(e)
		}
	case []any:
		for i, e := range x {
			x[i] = integral(e)
		}
	case json.Number:
		if _, err := x.Int64(); err != nil {
			if r, ok := new(big.Rat).SetString(string(x)); ok && r.IsInt() && len(x) < 64 {
				return json.Number(r.Num().String())
			}
		}
	}
	return v
}

func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Type == reflect.TypeFor[policy.Level]():
		return fmt.Errorf("%s: %s is not a level (one of: %s)", te.Field, te.Value, strings.Join(policy.LevelNames(), ", "))
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("%s: a JSON %s where the schema has %s", te.Field, te.Value, jsonType(te.Type))
	}
	return err
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/schema"
)

// decode reads a document of kind into v and checks what the fleet relies on:
// the members its schema requires at the top, every value the fleet reads of
// its type, every verdict and level one of the policy's. It never refuses what
// the schema accepts.
//
// It is not a JSON Schema validator, on purpose: the validator nestvirt's tests
// use compiles its meta-schemas when its package initialises (8 ms and 1.7 MB
// here), which every command, the guard hook among them, would pay at start for
// the one that reads documents back. Every document nestvirt writes is held to
// the full schema by its tests, and TestTheFleetAcceptsWhatTheSchemaAccepts holds
// decode to taking every document the schema takes.
func decode(kind string, data []byte, v any) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return jsonProblem(err)
	}
	for _, k := range schema.Required(kind) {
		if _, ok := top[k]; !ok {
			return fmt.Errorf("no %q member", k)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	switch d := v.(type) {
	case *checkDoc:
		if err := verdictOrNull("verdict", d.Verdict); err != nil {
			return err
		}
		if err := findings("findings", d.Findings); err != nil {
			return err
		}
		if d.VMs != nil {
			if err := verdictOrNull("vms.verdict", d.VMs.Verdict); err != nil {
				return err
			}
			return vms("vms.vms", d.VMs.VMs)
		}
	case *vmsDoc:
		if err := verdictOrNull("verdict", d.Verdict); err != nil {
			return err
		}
		return vms("vms", d.VMs)
	case *planDoc:
		if err := verdictOrNull("verdict", d.Verdict); err != nil {
			return err
		}
		for i, t := range d.Topologies {
			at := "topologies[" + strconv.Itoa(i) + "]"
			if err := verdictOrNull(at+".verdict", t.Verdict); err != nil {
				return err
			}
			if err := chains(at+".chains", t.Chains); err != nil {
				return err
			}
		}
	}
	return nil
}

func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("%s: a JSON %s where the schema has %s", te.Field, te.Value, jsonType(te.Type.Kind().String()))
	}
	return fmt.Errorf("not JSON: %w", err)
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int64":
		return "an integer"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return goKind
}

func verdictOrNull(at string, v *string) error {
	if v == nil {
		return nil
	}
	return level(at, *v)
}

func level(at, v string) error {
	if _, err := policy.ParseLevel(v); err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	return nil
}

func findings(at string, fs []Finding) error {
	for i, f := range fs {
		here := at + "[" + strconv.Itoa(i) + "]"
		if err := level(here+".level", f.Level); err != nil {
			return err
		}
	}
	return nil
}

func chains(at string, cs []chain) error {
	for i, c := range cs {
		here := at + "[" + strconv.Itoa(i) + "]"
		if err := level(here+".verdict", c.Verdict); err != nil {
			return err
		}
		if err := findings(here+".findings", c.Findings); err != nil {
			return err
		}
	}
	return nil
}

func vms(at string, list []VM) error {
	for i, v := range list {
		here := at + "[" + strconv.Itoa(i) + "]"
		if err := level(here+".verdict", v.Verdict); err != nil {
			return err
		}
		if err := chains(here+".chains", v.Chains); err != nil {
			return err
		}
	}
	return nil
}

// integer is a JSON integer as JSON Schema has it: 1.0 is one.
type integer int

func (i *integer) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeFor[int]()}
	}
	*i = integer(f)
	return nil
}

// Package schemagen writes nestvirt's JSON Schemas (schema/*.v1.json) from the
// Go definitions of its documents (package doc and the types they hold): the
// structure from the types by reflection, the descriptions from their doc
// comments. scripts/genschema writes the files; a test fails when the committed
// files are not what it writes.
//
// How a Go type reads as a schema:
//   - a struct is an object with no other members; each json-named field is a
//     property, required unless its tag has omitempty or schema:"optional" (a
//     member added in a later 0.x release, which v1 documents may lack);
//   - a pointer is the value or null; a slice an array; string, bool, int the
//     JSON types; a field tagged schema:"null" is its type or null (a string
//     its MarshalJSON writes as null when empty);
//   - a type with an Enum() []string method is one of those strings;
//   - the types of Defs are defined once, in defs.v1.json, and referred to;
//   - a document's "schema" member is its own id.
package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
)

// Document is one document's schema: its name (the file schema/NAME.v1.json),
// its title, and the Go type it is written from.
type Document struct {
	Name, Title string
	Type        reflect.Type
}

// Def is a type defined once in defs.v1.json, under Name.
type Def struct {
	Name string
	Type reflect.Type
}

// Spec is what Generate writes: the documents, the shared definitions, the
// ids, and where the Go sources of the types are (for their comments).
type Spec struct {
	Documents []Document
	Defs      []Def
	// ID is the id of a document name ("defs" for the definitions).
	ID func(name string) string
	// Sources are the directories of the packages whose comments describe the
	// types, relative to the module's root.
	Sources []string
	// Enums are the values of types that cannot carry an Enum method (a type
	// of a package that must not know the schema).
	Enums map[reflect.Type][]string
}

// enumer is a type whose JSON values are a fixed set of strings.
type enumer interface{ Enum() []string }

// Generate returns the schema files, by file name, with root the module's root.
func Generate(spec Spec, root string) (map[string][]byte, error) {
	g := &gen{spec: spec, comments: map[string]string{}, defs: map[reflect.Type]string{}}
	for _, src := range spec.Sources {
		if err := g.readComments(filepath.Join(root, src)); err != nil {
			return nil, err
		}
	}
	for _, d := range spec.Defs {
		g.defs[d.Type] = d.Name
	}
	out := map[string][]byte{}
	defs := obj{}
	defs.set("$schema", "https://json-schema.org/draft/2020-12/schema")
	defs.set("$id", spec.ID("defs"))
	defs.set("title", "Definitions shared by nestvirt's JSON documents")
	ds := obj{}
	for _, d := range spec.Defs {
		ds.set(d.Name, g.body(d.Type, true))
	}
	defs.set("$defs", ds)
	b, err := marshal(defs)
	if err != nil {
		return nil, err
	}
	out["defs.v1.json"] = b
	for _, d := range spec.Documents {
		s := obj{}
		s.set("$schema", "https://json-schema.org/draft/2020-12/schema")
		s.set("$id", spec.ID(d.Name))
		s.set("title", d.Title)
		if c := g.typeComment(d.Type); c != "" {
			s.set("description", c)
		}
		g.document = spec.ID(d.Name)
		for _, kv := range g.body(d.Type, false) {
			if kv.k != "description" {
				s.set(kv.k, kv.v)
			}
		}
		b, err := marshal(s)
		if err != nil {
			return nil, err
		}
		out[d.Name+".v1.json"] = b
	}
	return out, nil
}

type gen struct {
	spec     Spec
	comments map[string]string // "pkgpath.Type" and "pkgpath.Type.Field"
	defs     map[reflect.Type]string
	document string // the id of the document being written, for its "schema" member
}

// readComments reads the doc comments of every type and field in dir's package.
func (g *gen) readComments(dir string) error {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		return err
	}
	for _, p := range pkgs {
		path := importPath(dir)
		for _, f := range p.Files {
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, spec := range gd.Specs {
					ts := spec.(*ast.TypeSpec)
					text := ts.Doc.Text()
					if text == "" && len(gd.Specs) == 1 {
						text = gd.Doc.Text()
					}
					g.comments[path+"."+ts.Name.Name] = clean(text)
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fld := range st.Fields.List {
						c := fld.Doc.Text()
						if c == "" {
							c = fld.Comment.Text()
						}
						for _, n := range fld.Names {
							g.comments[path+"."+ts.Name.Name+"."+n.Name] = clean(c)
						}
					}
				}
			}
		}
	}
	return nil
}

// importPath is the package path of a source directory: the module's path and
// the directory below the root ("internal/doc").
func importPath(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	i := strings.LastIndex(filepath.ToSlash(abs), "/internal/")
	if i < 0 {
		return ""
	}
	return "github.com/nestvirt/nestvirt" + filepath.ToSlash(abs)[i:]
}

// clean makes a comment one paragraph of prose, its lines joined.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// typeComment is a type's doc comment as a schema says it: "Facts is
// everything check knows" reads "Everything check knows".
func (g *gen) typeComment(t reflect.Type) string {
	c := g.comments[t.PkgPath()+"."+t.Name()]
	for _, verb := range []string{" is ", " are ", " says "} {
		if rest, ok := strings.CutPrefix(c, t.Name()+verb); ok && rest != "" {
			if verb != " is " && verb != " are " {
				rest = strings.TrimSpace(verb) + " " + rest
			}
			return strings.ToUpper(rest[:1]) + rest[1:]
		}
	}
	return c
}

// schema is what a value of t is, referring to the definitions.
func (g *gen) schema(t reflect.Type) any {
	if name, ok := g.defs[t]; ok {
		return obj{{"$ref", g.spec.ID("defs") + "#/$defs/" + name}}
	}
	return g.body(t, false)
}

// body is t's own schema (what a definition holds). top is whether it is written
// into defs.v1.json, where references are local.
func (g *gen) body(t reflect.Type, top bool) obj {
	s := obj{}
	if c := g.typeComment(t); c != "" && t.Kind() == reflect.Struct {
		s.set("description", c)
	}
	if e, ok := g.enum(t); ok {
		if c := g.typeComment(t); c != "" {
			s.set("description", c)
		}
		s.set("enum", e)
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.schema(t.Elem()))
	case reflect.Slice:
		s.set("type", "array")
		s.set("items", g.schema(t.Elem()))
	case reflect.String:
		s.set("type", "string")
	case reflect.Bool:
		s.set("type", "boolean")
	case reflect.Int, reflect.Int64, reflect.Int32:
		s.set("type", "integer")
	case reflect.Struct:
		s.set("type", "object")
		s.set("additionalProperties", false)
		required := []string{}
		props := obj{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			optional := strings.Contains(opts, "omitempty") || hasTag(f, "optional")
			if !optional {
				required = append(required, name)
			}
			var p any
			switch {
			case name == "schema" && g.document != "" && t.Name() != "" && f.Type.Kind() == reflect.String && strings.HasSuffix(t.Name(), "Doc"):
				p = obj{{"const", g.document}}
			case hasTag(f, "null"):
				p = nullable(g.schema(f.Type))
			case strings.Contains(opts, "omitempty") && f.Type.Kind() == reflect.Pointer:
				p = g.schema(f.Type.Elem()) // absent, never null
			default:
				p = g.schema(f.Type)
			}
			if c := g.comments[t.PkgPath()+"."+t.Name()+"."+f.Name]; c != "" {
				p = describe(p, c)
			}
			props.set(name, p)
		}
		s.set("required", required)
		s.set("properties", props)
	default:
		panic(fmt.Sprintf("schemagen: %s has no JSON Schema form", t))
	}
	return s
}

func (g *gen) enum(t reflect.Type) ([]string, bool) {
	if e, ok := g.spec.Enums[t]; ok {
		return e, true
	}
	if t.Kind() != reflect.Pointer && t.Implements(reflect.TypeFor[enumer]()) {
		return reflect.Zero(t).Interface().(enumer).Enum(), true
	}
	return nil, false
}

func hasTag(f reflect.StructField, v string) bool {
	for _, o := range strings.Split(f.Tag.Get("schema"), ",") {
		if o == v {
			return true
		}
	}
	return false
}

// nullable is s or null.
func nullable(s any) obj {
	if o, ok := s.(obj); ok && len(o) == 1 && o[0].k == "type" {
		if t, ok := o[0].v.(string); ok {
			return obj{{"type", []string{t, "null"}}}
		}
	}
	return obj{{"oneOf", []any{obj{{"type", "null"}}, s}}}
}

// describe adds a description to a property's schema, first.
func describe(s any, c string) any {
	o, ok := s.(obj)
	if !ok {
		return s
	}
	if len(o) > 0 && o[0].k == "description" {
		return o
	}
	return append(obj{{"description", c}}, o...)
}

// obj is a JSON object whose members keep their order.
type obj []kv

type kv struct {
	k string
	v any
}

func (o *obj) set(k string, v any) { *o = append(*o, kv{k, v}) }

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshalCompact(m.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalCompact(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func marshal(v any) ([]byte, error) {
	c, err := marshalCompact(v)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, c, "", "  "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

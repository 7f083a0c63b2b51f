package strictyaml

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// person reads a small schema the way nestvirt's loaders read theirs.
type person struct {
	name  string
	age   int
	admin bool
	role  string
	tags  []string
	meta  map[string]string
}

func readPerson(file string, data []byte) (person, error) {
	d, root, err := Parse(file, data)
	if err != nil {
		return person{}, err
	}
	var p person
	m := root.Map("name", "age", "admin", "role", "tags", "meta")
	p.name, _ = m["name"].String()
	p.age, _ = m["age"].Int()
	p.admin, _ = m["admin"].Bool()
	if m["role"].Present() {
		p.role, _ = m["role"].OneOf("user", "operator")
	}
	for _, t := range m["tags"].Seq() {
		s, _ := t.String()
		p.tags = append(p.tags, s)
	}
	p.meta = map[string]string{}
	for _, e := range m["meta"].Entries() {
		if _, ok := e.Value.resolve().(*ast.SequenceNode); ok {
			walk(e.Value) // free-form values: read all the way down
			continue
		}
		p.meta[e.Key], _ = e.Value.String()
	}
	return p, d.Err()
}

// walk reads every value under n, as a reader of free-form data would.
func walk(n Node) {
	switch n.resolve().(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		for _, e := range n.Entries() {
			walk(e.Value)
		}
	case *ast.SequenceNode:
		for _, x := range n.Seq() {
			walk(x)
		}
	default:
		n.String()
	}
}

// TestEveryProblemIsReportedWithItsPlace: each mistake names the file, line,
// column and path, all of them in one pass, with a suggestion where one is near.
func TestEveryProblemIsReportedWithItsPlace(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // one per problem, in order
	}{
		{"good", "name: ada\nage: 36\nadmin: true\nrole: operator\ntags: [a, b]\nmeta: {x: \"1\"}\n", nil},
		{"a number as text keeps its digits", "name: 10.0\n", nil},
		{"unknown key with a suggestion", "nmae: ada\n", []string{`f.yaml:1:1: nmae: unknown key "nmae"; did you mean "name"?`}},
		{"wrong kinds", "name: [x]\nage: old\nadmin: yes please\n", []string{
			"f.yaml:1:7: name: must be a string, not a list",
			"f.yaml:2:6: age: must be an integer, not a string",
			"f.yaml:3:8: admin: must be true or false, not a string"}},
		{"duplicate keys", "name: a\nname: b\n", []string{`f.yaml:2:1: YAML syntax: mapping key "name" already defined at [1:1]`}},
		{"one of", "role: operater\n", []string{`f.yaml:1:7: role: unknown value "operater" (one of: user, operator); did you mean "operator"?`}},
		{"a list entry's path", "tags:\n  - a\n  - {b: c}\n", []string{"f.yaml:3:5: tags[1]: must be a string, not a mapping"}},
		{"not a mapping", "- a\n- b\n", []string{"f.yaml:1:1: must be a mapping, not a list"}},
		{"merge keys", "base: &b {name: x}\n<<: *b\n", []string{`unknown key "base"`, "merge keys are not supported"}},
		{"an integer out of range", "age: 99999999999999999999\n", []string{"age: "}},
		{"alias to a scalar resolves", "meta: {a: &v hello, b: *v}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readPerson("f.yaml", []byte(tt.doc))
			var ps Problems
			if err != nil && !errors.As(err, &ps) {
				t.Fatalf("%T %s", err, err)
			}
			if len(ps) != len(tt.want) {
				t.Fatalf("%d problems, want %d:\n%v", len(ps), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(ps[i].Error(), w) {
					t.Errorf("problem %d = %q, want %q", i, ps[i].Error(), w)
				}
			}
		})
	}
}

// TestInputThatCannotBeADocumentIsRefused: binary, empty, several documents,
// syntax errors: each one problem naming the file.
func TestInputThatCannotBeADocumentIsRefused(t *testing.T) {
	for doc, want := range map[string]string{
		"":                   "empty document",
		"# only a comment\n": "empty document",
		"a: 1\n\x00":         "not a text file",
		"\xff\xfe":           "not a text file",
		"a: 1\n---\nb: 2\n":  "more than one YAML document",
		"a: [1, 2\n":         "f.yaml:",
		"a: b: c\n":          "f.yaml:",
	} {
		_, _, err := Parse("f.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}

// TestHostileDocumentsAreBounded: an alias bomb, deep nesting, a huge flat list
// and an oversized file are each refused fast, in bounded memory.
func TestHostileDocumentsAreBounded(t *testing.T) {
	// Ten levels of ten aliases each: 10^10 values if expanded.
	bomb := "meta:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 0, "a"; i < 9; i++ {
		name := string(rune('b' + i))
		bomb += "  " + name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	tests := map[string]struct{ doc, want string }{
		"alias bomb":           {bomb, "more than 100000 nodes"},
		"deep flow":            {"name: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "nesting is deeper than 200"},
		"deep indent":          {deepIndent(1000), "nesting is deeper than 200"},
		"a flat list":          {"tags: [" + strings.Repeat("x,", 200_000) + "x]\n", "the limit is 100000"},
		"too large":            {strings.Repeat("#", MaxBytes+1), "the limit is"},
		"16 MiB literal block": {"name: |\n" + strings.Repeat("  "+strings.Repeat("x", 62)+"\n", 16<<20/65-2), "the limit is 65536"},
		"16 MiB folded block":  {"name: >\n" + strings.Repeat("  "+strings.Repeat("x", 62)+"\n", 16<<20/65-2), "the limit is 65536"},
		"16 MiB plain lines":   {"name: x\n" + strings.Repeat("  "+strings.Repeat("x", 62)+"\n", 16<<20/65-2), "the limit is 65536"},
		"many problems":        {manyKeys(500), "more than 50 problems"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := readPerson("f.yaml", []byte(tt.doc))
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%.200v, want %q", err, tt.want)
			}
			if took > 5*time.Second {
				t.Errorf("took %s", took)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "key%d: 1\n", i)
	}
	return b.String()
}

func deepIndent(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("  ", i))
		b.WriteString("k:\n")
	}
	return b.String()
}

func TestNearest(t *testing.T) {
	for _, tt := range []struct{ s, want string }{
		{"migrate", "migration"}, {"hots", "host"}, {"zzzzzz", ""}, {"Host", "host"}, {"gusets", "guests"},
	} {
		got := Nearest(tt.s, []string{"host", "migration", "guests"})
		if (tt.want == "") != (got == "") || (tt.want != "" && !strings.Contains(got, `"`+tt.want+`"`)) {
			t.Errorf("Nearest(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// FuzzParse: no input panics or hangs the reader, and every problem names the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte("name: ada\nage: 36\ntags: [a, b]\nmeta: {x: 1}\n"))
	f.Add([]byte("a: &a [x]\nb: [*a, *a]\ntags: *b\n"))
	f.Add([]byte("- !!str x\n- ? complex\n  : key\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := readPerson("f.yaml", data)
		var ps Problems
		if err != nil {
			if !errors.As(err, &ps) {
				t.Fatalf("%T %s", err, err)
			}
			for _, p := range ps {
				if p.File != "f.yaml" {
					t.Fatalf("problem without its file: %+v", p)
				}
			}
		}
	})
}

// TestBracketsInCommentsAndStringsAreNotNesting: the nesting bound counts the
// document's structure, not brackets in a comment or a quoted scalar.
func TestBracketsInCommentsAndStringsAreNotNesting(t *testing.T) {
	for name, doc := range map[string]string{
		"comment":       "# " + strings.Repeat("{", 201) + "\nname: a\n",
		"double quoted": "name: \"" + strings.Repeat("[", 300) + "\"\n",
		"single quoted": "name: '" + strings.Repeat("{", 300) + " it''s'\n",
		"escaped quote": "name: \"\\\"" + strings.Repeat("[", 300) + "\"\n",
		"apostrophe":    "name: it's\n# " + strings.Repeat("[", 300) + "\n",
	} {
		if _, _, err := Parse("f.yaml", []byte(doc)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := Parse("f.yaml", []byte("a: '#'\nb: "+strings.Repeat("[", 201)+strings.Repeat("]", 201)+"\n")); err == nil || !strings.Contains(err.Error(), "deeper than 200") {
		t.Errorf("a '#' in a string hid real nesting: %s", err)
	}
}

package strictyaml

import (
	"strings"
	"testing"
)

// TestEveryScalarStyleIsBoundedBeforeParsing: a value over MaxString is refused
// by the byte scan whatever its style (before, a block, folded or multi-line
// plain scalar passed it: 3.7 s and 684 MB for 16 MiB), and ordinary documents
// with many short values, in block or flow style, pass.
func TestEveryScalarStyleIsBoundedBeforeParsing(t *testing.T) {
	lines := func(prefix, indent string, n int) string {
		var b strings.Builder
		b.WriteString(prefix)
		for range n {
			b.WriteString(indent + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n")
		}
		return b.String()
	}
	long := MaxString/50 + 10
	refused := map[string]string{
		"literal block":        lines("name: |\n", "  ", long),
		"folded block":         lines("name: >-\n", "  ", long),
		"block in a list":      lines("tags:\n  - |\n", "    ", long),
		"block with commas":    strings.Repeat("name: |\n", 1) + strings.Repeat("  a, b, [c], {d}\n", MaxString/16+10),
		"block with colons":    "name: |\n" + strings.Repeat("  x"+strings.Repeat("y", 2000)+": z\n", 40),
		"multi-line plain":     lines("name: start\n", "  ", long),
		"plain with commas":    "name: " + strings.Repeat("a, b ", MaxString/5+10) + "\n",
		"double quoted":        "name: \"" + strings.Repeat("x\n ", MaxString/3+10) + "\"\n",
		"single quoted":        "name: '" + strings.Repeat("it''s ", MaxString/6+10) + "'\n",
		"one long plain value": "name: " + strings.Repeat("x", MaxString+1) + "\n",
		"a long key":           strings.Repeat("k", MaxString+1) + ": 1\n",
	}
	for name, doc := range refused {
		t.Run(name, func(t *testing.T) {
			if n, _ := longestScalar([]byte(doc)); n <= MaxString {
				t.Errorf("longest scalar counted as %d; it is over %d", n, MaxString)
			}
			_, _, err := Parse("f.yaml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), "the limit is 65536") {
				t.Errorf("%.200v", err)
			}
		})
	}
	var list, flow, blocks strings.Builder
	for i := range 20000 {
		list.WriteString("- name: guest\n  os: rhel9.4\n")
		if i > 0 {
			flow.WriteString(",")
		}
		flow.WriteString(`{"name":"g","os":"rhel9.4","guests":[]}`)
		blocks.WriteString("- name: g\n  notes: |\n    one line\n    another: line\n  os: rhel9.4\n")
	}
	passed := map[string]string{
		"a long block list":       list.String(),
		"minified JSON":           "[" + flow.String() + "]",
		"many short blocks":       blocks.String(),
		"a comment block":         strings.Repeat("# "+strings.Repeat("c", 70)+"\n", 2000) + "name: a\n",
		"a URL in flow":           "{a: http://example.com:80/x, b: [c:d]}\n",
		"a block then keys":       "a: |\n  text\nb: 1\n" + strings.Repeat("c: 2\n", 20000),
		"a short multi-line text": "name: one\n  two\n  three\n",
	}
	for name, doc := range passed {
		t.Run(name, func(t *testing.T) {
			if n, at := longestScalar([]byte(doc)); n > MaxString {
				t.Errorf("longest scalar counted as %d at line %d", n, at)
			}
		})
	}
}

func FuzzLongestScalar(f *testing.F) {
	f.Add([]byte("a: |\n  x\nb: 'y''z'\nc: \"\\\"\"\n- [1, {d: e}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, line := longestScalar(data)
		if n < 0 || n > len(data)+strings.Count(string(data), "\n")+1 || line < 1 {
			t.Fatalf("longestScalar = %d at line %d for %d bytes", n, line, len(data))
		}
	})
}

// TestTagsOtherThanYAMLsOwnAreRefused: `host: !evil {...}` was read as if the
// tag were not there (a topology with it exited 0).
func TestTagsOtherThanYAMLsOwnAreRefused(t *testing.T) {
	for doc, want := range map[string]string{
		"name: !evil {a: 1}\n":      "f.yaml:1:7: the YAML tag !evil is not one nestvirt reads",
		"tags: [!!binary aGk=]\n":   "the YAML tag !!binary",
		"- !!python/object:x {}\n":  "the YAML tag !!python/object:x",
		"name: !<tag:evil.com> x\n": "is not one nestvirt reads",
		"name: !local x\nage: 2\n":  "the YAML tag !local",
	} {
		_, _, err := Parse("f.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
	for _, doc := range []string{"name: !!str 36\n", "age: !!int 36\ntags: !!seq [a]\n", "name: \"a !b\"\n", "name: x # !tag\n"} {
		if _, _, err := Parse("f.yaml", []byte(doc)); err != nil {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

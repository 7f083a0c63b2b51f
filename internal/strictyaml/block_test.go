package strictyaml

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// dump writes what strictyaml reads of a syntax tree: each node's type, its
// token's type, value, line and column, its value, and its children in order.
func dump(b *strings.Builder, n ast.Node, depth int) {
	fmt.Fprintf(b, "%*s", depth*2, "")
	if n == nil {
		b.WriteString("<nil>\n")
		return
	}
	fmt.Fprintf(b, "%T", n)
	if tk := n.GetToken(); tk != nil {
		fmt.Fprintf(b, " %s %q %d:%d", tk.Type, tk.Value, tk.Position.Line, tk.Position.Column)
	}
	switch v := n.(type) {
	case *ast.StringNode:
		fmt.Fprintf(b, " = %q", v.Value)
	case *ast.IntegerNode:
		fmt.Fprintf(b, " = %#v", v.Value)
	case *ast.FloatNode:
		fmt.Fprintf(b, " = %#v", v.Value)
	case *ast.BoolNode:
		fmt.Fprintf(b, " = %v", v.Value)
	}
	b.WriteByte('\n')
	switch v := n.(type) {
	case *ast.MappingNode:
		for _, mv := range v.Values {
			dump(b, mv, depth+1)
		}
	case *ast.MappingValueNode:
		dump(b, v.Key, depth+1)
		dump(b, v.Value, depth+1)
	case *ast.SequenceNode:
		for _, x := range v.Values {
			dump(b, x, depth+1)
		}
	}
}

// goccys is the parser's tree of a one-document input, or why there is none.
func goccys(data []byte) (string, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return "", err
	}
	var bodies []ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			bodies = append(bodies, d.Body)
		}
	}
	if len(bodies) != 1 {
		return "", fmt.Errorf("%d documents", len(bodies))
	}
	var b strings.Builder
	dump(&b, bodies[0], 0)
	return b.String(), nil
}

// sameAsGoccy fails t when parseBlock accepts data and builds another tree than
// the parser's, or accepts what the parser refuses. It reports whether
// parseBlock accepted it.
func sameAsGoccy(t *testing.T, name string, data []byte) bool {
	t.Helper()
	root, ok := parseBlock(data)
	if !ok {
		return false
	}
	want, err := goccys(data)
	if err != nil {
		t.Errorf("%s: the fast path read what goccy refuses (%v):\n%s", name, err, data)
		return true
	}
	var b strings.Builder
	dump(&b, root, 0)
	if got := b.String(); got != want {
		t.Errorf("%s: the fast path's tree differs from goccy's\ninput:\n%s\nfast path:\n%s\ngoccy:\n%s", name, data, got, want)
	}
	return true
}

var blockDocs = []struct {
	doc    string
	accept bool // the fast path reads it; otherwise it leaves it to goccy
}{
	{"name: gen-0\nhost:\n  name: host-0\n  os: rhel10.0\n  cpu: intel\n  migration: true\n  guests:\n    - name: vm0\n      os: win11\n      hypervisor: wsl2\n      guests:\n        - name: inner0\n          os: ubuntu24.04\n    - name: vm1\n      os: rhel9.6\n", true},
	{"a: 1\n", true},
	{"a: 1", true},
	{"a: -1\nb: 1.0\nc: 1e3\nd: false\ne: null\n", true},
	{"f: 1_000\n", true},
	{"g: 010\n", false},
	{"h: +1\n", true},
	{"a:\n- b\n- c\nd: \"q s\"\ne: 'x'\nf: \"\"\n", true},
	{"# a comment\na: b # c\n  # indented comment\n\nd: e\n", true},
	{"- a\n- b: c\n  d: e\n-   f: g\n    h: i\n", true},
	{"host:\n  guests: # the VMs\n  - name: a\n    guests:\n      - name: b\n  name: h\n", true},
	{"name: my lab host\nos: rhel9.6\n", true},
	{"path: /usr/share/x-y/z+w\n", true},
	{"a.b: 1\nc-d: 2\n_e: 3\n", true},
	{"a: \"it's\"\nb: 'say \"hi\"'\n", true},
	{"dup: 1\ndup: 2\n", false},
	{"d:   e\n", true},
	{"d: e  \n", false},
	{"- e \n", false},
	{"d: \"e\"  \nf:  'g' # c\n", true},
	// Left to goccy.
	{"", false},
	{"# only a comment\n", false},
	{"a: [1, 2]\n", false},
	{"a: {b: c}\n", false},
	{"a: &x 1\nb: *x\n", false},
	{"a: !!str 1\n", false},
	{"a: |\n  text\n", false},
	{"a: >\n  text\n", false},
	{"a: \"esc\\n\"\n", false},
	{"a: 'it''s'\n", false},
	{"a: b\n  c\n", false},
	{"a:\n  b\n", false},
	{"a:\nb: 1\n", false},
	{"a:\n", false},
	{"\ta: 1\n", false},
	{"a:\t1\n", false},
	{"a: 1\r\n", false},
	{"---\na: 1\n", false},
	{"a: 1\n...\n", false},
	{"%YAML 1.2\n---\na: 1\n", false},
	{"a: 1\n---\nb: 2\n", false},
	{"? a\n: b\n", false},
	{"\"a\": 1\n", false},
	{"1: a\n", false},
	{"true: a\n", false},
	{"null: a\n", false},
	{"a: b: c\n", false},
	{"a:b\n", false},
	{"a: x#y\n", false},
	{"a: x  y\n", false},
	{"a: -\n", false},
	{"a: - b\n", false},
	{"- - a\n", false},
	{"-\n  a: 1\n", false},
	{"a: 1\n - b\n", false},
	{"a:\n  b: 1\n c: 2\n", false},
	{"  a: 1\n", false},
	{"a: .inf\n", false},
	{"a: 0x1F\n", false},
	{"a: ~\n", false},
	{"a: é\n", false},
	{"\ufeffa: 1\n", false},
	{"a: 1\n- b\n", false},
	{"- a\nb: 1\n", false},
}

// TestBlockIsGoccys: what the fast path reads, it reads as goccy's parser does;
// what it leaves to the parser is what it is not sure of.
func TestBlockIsGoccys(t *testing.T) {
	for _, c := range blockDocs {
		if got := sameAsGoccy(t, fmt.Sprintf("%q", c.doc), []byte(c.doc)); got != c.accept {
			t.Errorf("%q: fast path accepted = %v, want %v", c.doc, got, c.accept)
		}
	}
}

// TestBlockReadsTheRepositorysFiles holds the fast path to goccy on every YAML
// file of the repository (topologies good and bad, examples, policies,
// manifests), and counts how many it reads.
func TestBlockReadsTheRepositorysFiles(t *testing.T) {
	files, accepted := 0, 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if sameAsGoccy(t, path, data) {
			accepted++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the fast path read %d of %d YAML files; goccy's parser the rest", accepted, files)
	if files < 20 || accepted == 0 {
		t.Fatalf("read %d of %d files: the walk found too few or the fast path reads none", accepted, files)
	}
}

// FuzzBlockIsGoccys looks for a document the fast path reads otherwise than
// goccy's parser.
func FuzzBlockIsGoccys(f *testing.F) {
	for _, c := range blockDocs {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
			return // Parse refuses it before any parser sees it
		}
		sameAsGoccy(t, "input", data)
	})
}

// BenchmarkParse reads a generated topology (scripts/gentopo's shape) by the
// fast path and by goccy's parser.
func BenchmarkParse(b *testing.B) {
	data := []byte(blockDocs[0].doc)
	b.Run("block", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := parseBlock(data); !ok {
				b.Fatal("not read")
			}
		}
	})
	b.Run("goccy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parser.ParseBytes(data, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

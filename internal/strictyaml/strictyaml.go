// Package strictyaml reads a YAML (or JSON) document field by field and collects
// every problem with its path, line and column, so a loader reports all mistakes at
// once (`host.guests[1].os: unknown OS "win2k91"`) instead of the first one.
//
// It walks goccy/go-yaml's syntax tree rather than decoding into structs: that keeps
// positions for semantic errors, rejects unknown and duplicate keys with a
// suggestion, and bounds the work an input can cause (size, depth, alias expansion).
package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/nestvirt/nestvirt/internal/suggest"
)

// Limits bound what one document may cost to read.
const (
	MaxBytes = 16 << 20 // larger inputs are refused before parsing
	MaxNodes = 100_000  // nodes visited, aliases expanded included
	MaxDepth = 200      // nesting of mappings and sequences
	// MaxProblems bounds what one document reports: past it, reading stops.
	MaxProblems = 50
)

// Problem is one mistake in a document.
type Problem struct {
	File      string
	Path      string // "host.guests[1].os"; "" for the document itself
	Line, Col int    // 1-based; 0 when unknown
	Msg       string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every mistake found in a document, in document order.
type Problems []Problem

// Unwrap is each problem, so that errors.As finds them and a caller can say
// each on its own line.
func (ps Problems) Unwrap() []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Doc is one document being read. Its zero value is not usable; use Parse.
type Doc struct {
	file     string
	problems Problems
	anchors  map[string]ast.Node
	visited  int
	stopped  bool
}

// Node is a position in the document: a syntax node and the path that led to it.
// A Node with a nil syntax node stands for an absent value.
type Node struct {
	d     *Doc
	n     ast.Node
	at    ast.Node // where an absent value would have been: its parent
	path  *step    // built into a string only when a problem is reported
	depth int
}

// step is one element of a node's path: a key, or an index when key is "".
type step struct {
	parent *step
	key    string
	index  int
}

func (s *step) String() string {
	if s == nil {
		return ""
	}
	var elems []*step
	for e := s; e != nil; e = e.parent {
		elems = append(elems, e)
	}
	var b strings.Builder
	for i := len(elems) - 1; i >= 0; i-- {
		e := elems[i]
		switch {
		case e.key == "":
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.index))
			b.WriteByte(']')
		case b.Len() > 0:
			b.WriteByte('.')
			b.WriteString(e.key)
		default:
			b.WriteString(e.key)
		}
	}
	return b.String()
}

func (s *step) key_(k string) *step { return &step{parent: s, key: k} }
func (s *step) at(i int) *step      { return &step{parent: s, index: i} }

// Parse parses data and returns its root node. A syntax error, an empty document,
// or an input over the limits is returned as Problems.
func Parse(file string, data []byte) (*Doc, Node, error) {
	d := &Doc{file: file, anchors: map[string]ast.Node{}}
	if len(data) > MaxBytes {
		return d, Node{}, Problems{{File: file, Msg: fmt.Sprintf("file is %d bytes; the limit is %d", len(data), MaxBytes)}}
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		return d, Node{}, Problems{{File: file, Msg: "not a text file (invalid UTF-8 or NUL bytes)"}}
	}
	// One byte scan bounds the document before the parser builds anything.
	sh := shapeOf(data)
	if sh.depth > MaxDepth || sh.indentDepth > MaxDepth*2 {
		return d, Node{}, Problems{{File: file, Msg: fmt.Sprintf("nesting is deeper than %d levels", MaxDepth)}}
	}
	// The parser holds the whole syntax tree: refuse a document over the node
	// budget before it is built, so memory stays proportional to the budget.
	if sh.nodes > MaxNodes {
		return d, Node{}, Problems{{File: file, Msg: fmt.Sprintf("the document holds about %d values; the limit is %d", sh.nodes, MaxNodes)}}
	}
	// A value longer than any field may hold is refused before the parser
	// copies it into its tokens (a 16 MiB scalar costs it half a gigabyte).
	if n, at := longestScalar(data); n > MaxString {
		return d, Node{}, Problems{{File: file, Line: at, Msg: fmt.Sprintf("a value at line %d is over %d bytes long; the limit is %d (no value nestvirt reads is that long)", at, n, MaxString)}}
	}
	root, err := parse(file, data)
	if err != nil {
		return d, Node{}, err
	}
	if bytes.IndexByte(data, '&') >= 0 {
		ast.Walk(anchorCollector(d.anchors), root)
	}
	if bytes.IndexByte(data, '!') >= 0 {
		tags := tagChecker{d: d}
		ast.Walk(&tags, root)
		if err := d.Err(); err != nil {
			return d, Node{}, err
		}
	}
	return d, Node{d: d, n: root}, nil
}

// parse builds the document's syntax tree: by parseBlock when the document is
// the plain block YAML it reads, else by goccy's parser. A syntax error, more
// than one document or none is the problem returned.
func parse(file string, data []byte) (ast.Node, error) {
	if root, ok := parseBlock(data); ok {
		return root, nil
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Problems{syntaxProblem(file, err)}
	}
	var root ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if root != nil {
			return nil, Problems{{File: file, Line: line(doc.Body), Col: col(doc.Body), Msg: "more than one YAML document; a file holds one"}}
		}
		root = doc.Body
	}
	if root == nil {
		return nil, Problems{{File: file, Msg: "empty document"}}
	}
	return root, nil
}

// coreTags are YAML's own tags for the kinds of value nestvirt reads. Any other
// tag (!evil, !!binary, !!python/object) asks for a type nestvirt has none of:
// it is refused, not stripped, so a document never means more than it reads.
var coreTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!map": true, "!!seq": true,
}

type tagChecker struct{ d *Doc }

func (c *tagChecker) Visit(n ast.Node) ast.Visitor {
	if tn, ok := n.(*ast.TagNode); ok && tn.Start != nil && !coreTags[tn.Start.Value] {
		Node{d: c.d, n: tn}.Errorf("the YAML tag %s is not one nestvirt reads (only plain values, or %s)", tn.Start.Value, strings.Join(slices.Sorted(maps.Keys(coreTags)), ", "))
	}
	return c
}

// anchorCollector records every anchor before the walk, so an alias resolves
// whatever key its anchor sits under. Aliases are expanded lazily, against the
// node budget.
type anchorCollector map[string]ast.Node

func (a anchorCollector) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.String()] = an.Value
	}
	return a
}

// structural calls fn for each byte of data outside quoted scalars and comments
// (the newline that ends a comment included): what the byte-level bounds below
// count is the document's structure, not its text.
func structural(data []byte, fn func(i int, c byte)) {
	var quote byte
	for i := 0; i < len(data); i++ {
		c := data[i]
		if quote != 0 {
			switch {
			case c == '\\' && quote == '"':
				i++
			case c == quote:
				quote = 0
			}
			continue
		}
		switch {
		case c == '#' && (i == 0 || data[i-1] == ' ' || data[i-1] == '\t' || data[i-1] == '\n'):
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
			continue
		case (c == '"' || c == '\'') && scalarStart(data, i):
			quote = c
			continue
		}
		fn(i, c)
	}
}

// scalarStart says whether a quote at i opens a quoted scalar: it follows
// whitespace, a line start or a flow or mapping indicator. In "it's" it does not.
func scalarStart(data []byte, i int) bool {
	if i == 0 {
		return true
	}
	switch data[i-1] {
	case ' ', '\t', '\n', '[', '{', ',', ':', '-', '?':
		return true
	}
	return false
}

// shape is what one byte scan of a document tells before it is parsed.
type shape struct {
	// depth is the deepest flow nesting ([ and {), indentDepth the deepest
	// block nesting by indentation (two columns a level): goccy's parser
	// recurses per level, and a few thousand levels is no topology anyone wrote.
	depth, indentDepth int
	// nodes counts what starts a YAML value: a sequence entry ("- " or a flow
	// comma), a mapping value (": "), an opening bracket. It is an upper bound
	// of the nodes the parser would build, for the documents nestvirt reads.
	nodes int
}

// shapeOf scans data once, outside quoted scalars and comments: what it counts
// is the document's structure, not its text.
func shapeOf(data []byte) shape {
	var sh shape
	sh.nodes = 1
	depth, indent := 0, 0
	lineStart, nodeLineStart := true, true
	structural(data, func(i int, c byte) {
		// Values started.
		switch c {
		case '\n':
			nodeLineStart = true
		case ' ', '\t':
		case ',', '[', '{':
			sh.nodes++
			nodeLineStart = false
		case ':':
			if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\t' {
				sh.nodes++
			}
			nodeLineStart = false
		case '-':
			if nodeLineStart || (i > 0 && data[i-1] == '-') {
				sh.nodes++
			}
			nodeLineStart = false
		default:
			nodeLineStart = false
		}
		// Nesting.
		switch {
		case c == '\n':
			lineStart, indent = true, 0
			return
		case lineStart && (c == ' ' || c == '-'):
			indent++
			return
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
		if lineStart {
			lineStart = false
			sh.indentDepth = max(sh.indentDepth, indent/2)
		}
		sh.depth = max(sh.depth, depth)
	})
	return sh
}

func syntaxProblem(file string, err error) Problem {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		tk := ye.GetToken()
		return Problem{File: file, Line: tk.Position.Line, Col: tk.Position.Column, Msg: "YAML syntax: " + ye.GetMessage()}
	}
	return Problem{File: file, Msg: "YAML syntax: " + err.Error()}
}

// Err returns the problems recorded so far, or nil.
func (d *Doc) Err() error {
	if len(d.problems) == 0 {
		return nil
	}
	sort.SliceStable(d.problems, func(i, j int) bool {
		a, b := d.problems[i], d.problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return d.problems
}

// Line is the node's 1-based line (its parent's when absent).
func (n Node) Line() int { return line(n.pos()) }

func (n Node) pos() ast.Node {
	if n.n != nil {
		return n.n
	}
	return n.at
}

// Present reports whether the value was in the document (an explicit null is not).
func (n Node) Present() bool {
	if n.n == nil {
		return false
	}
	_, null := n.resolve().(*ast.NullNode)
	return !null
}

// Errorf records a problem at n (or at its parent's position when n is absent).
func (n Node) Errorf(format string, args ...any) {
	if len(n.d.problems) >= MaxProblems {
		if !n.d.stopped {
			n.d.stopped = true
			n.d.problems = append(n.d.problems, Problem{File: n.d.file, Msg: fmt.Sprintf("more than %d problems; stopped reading", MaxProblems)})
		}
		return
	}
	p := n.pos()
	pr := Problem{File: n.d.file, Path: n.path.String(), Line: line(p), Col: col(p), Msg: fmt.Sprintf(format, args...)}
	// One problem per position: a second one there follows from the first (a
	// refused value read as absent), and would send the reader after a cause
	// that is not there.
	for _, q := range n.d.problems {
		if q.Path == pr.Path && q.Line == pr.Line && q.Col == pr.Col {
			return
		}
	}
	n.d.problems = append(n.d.problems, pr)
}

// Problems counts the problems reported at this node so far: a caller can tell
// a value that was refused from one that was read.
func (n Node) Problems() int {
	path, c := n.path.String(), 0
	for _, p := range n.d.problems {
		if p.Path == path {
			c++
		}
	}
	return c
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

func col(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Column
}

// resolve strips anchors, tags and aliases, counting each visit against the budget so
// alias bombs stop early.
func (n Node) resolve() ast.Node {
	cur := n.n
	for hops := 0; cur != nil && hops < 64; hops++ {
		switch v := cur.(type) {
		case *ast.AnchorNode:
			cur = v.Value
		case *ast.TagNode:
			cur = v.Value
		case *ast.AliasNode:
			name := ""
			if v.Value != nil {
				name = v.Value.String()
			}
			target, ok := n.d.anchors[name]
			if !ok {
				return nil
			}
			cur = target
		default:
			return cur
		}
	}
	return cur
}

func (n Node) child(nn ast.Node, path *step) Node {
	return Node{d: n.d, n: nn, path: path, depth: n.depth + 1}
}

func (n Node) spend() bool {
	if n.d.stopped {
		return false
	}
	n.d.visited++
	if n.d.visited > MaxNodes || n.depth > MaxDepth {
		n.d.stopped = true
		msg := fmt.Sprintf("document expands to more than %d nodes (alias expansion?)", MaxNodes)
		if n.depth > MaxDepth {
			msg = fmt.Sprintf("nesting is deeper than %d levels", MaxDepth)
		}
		n.Errorf("%s", msg)
		return false
	}
	return true
}

func kindName(n ast.Node) string {
	switch n.(type) {
	case nil:
		return "an alias to an unknown anchor"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "an integer"
	case *ast.FloatNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.NullNode:
		return "null"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// Map reads a mapping whose keys must be among fields. It reports unknown keys
// (suggesting the nearest known one), duplicate keys and a non-mapping value, and
// returns the present fields by name. The result has absent Nodes for missing keys.
func (n Node) Map(fields ...string) map[string]Node {
	out := make(map[string]Node, len(fields))
	for _, f := range fields {
		out[f] = Node{d: n.d, at: n.pos(), path: n.path.key_(f), depth: n.depth + 1}
	}
	if n.n == nil || !n.spend() {
		return out
	}
	values, ok := n.mapping()
	if !ok {
		return out
	}
	var seen uint64 // fields are few: a bit per field index
	for _, mv := range values {
		key := keyString(mv.Key)
		idx := -1
		for i, f := range fields {
			if f == key {
				idx = i
				break
			}
		}
		switch {
		case key == "<<":
			n.keyNode(mv, key).Errorf("merge keys are not supported; write the fields out")
		case idx < 0:
			n.keyNode(mv, key).Errorf("unknown key %s%s", suggest.Quote(key), nearest(key, fields))
		case idx < 64 && seen&(1<<idx) != 0:
			n.keyNode(mv, key).Errorf("duplicate key %q", key)
		default:
			if idx < 64 {
				seen |= 1 << idx
			}
			out[key] = n.child(mv.Value, out[key].path)
		}
	}
	return out
}

func (n Node) keyNode(mv *ast.MappingValueNode, key string) Node {
	return Node{d: n.d, n: mv.Key, path: n.path.key_(key), depth: n.depth + 1}
}

// mapping returns a mapping's key/value pairs, or records why the node is not one.
func (n Node) mapping() ([]*ast.MappingValueNode, bool) {
	switch v := n.resolve().(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	default:
		n.Errorf("must be a mapping, not %s", kindName(v))
		return nil, false
	}
}

func keyString(k ast.MapKeyNode) string {
	if k == nil {
		return ""
	}
	if mk, ok := k.(*ast.MappingKeyNode); ok && mk.Value != nil {
		return scalarText(mk.Value)
	}
	return scalarText(k)
}

func scalarText(n ast.Node) string {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value
		}
	}
	return n.String()
}

// Seq reads a list; a non-list records a problem and yields nothing.
// IsSeq reports whether the node is a list (for a field that takes a value or
// a list of them), without spending it.
func (n Node) IsSeq() bool {
	if !n.Present() {
		return false
	}
	_, ok := n.resolve().(*ast.SequenceNode)
	return ok
}

func (n Node) Seq() []Node {
	if !n.Present() || !n.spend() {
		return nil
	}
	s, ok := n.resolve().(*ast.SequenceNode)
	if !ok {
		n.Errorf("must be a list, not %s", kindName(n.resolve()))
		return nil
	}
	out := make([]Node, len(s.Values))
	for i, v := range s.Values {
		out[i] = n.child(v, n.path.at(i))
	}
	return out
}

// MaxString bounds any string String reads (a policy's longest remedy is a few
// KiB); StringMax sets a tighter bound for a field.
const MaxString = 64 << 10

// String reads a scalar as text. Numbers are accepted as their source text so
// `version: 10.0` keeps its trailing zero; anything else is a problem.
func (n Node) String() (string, bool) { return n.StringMax(MaxString) }

// StringMax is String for a field whose values are at most max bytes: a longer
// one is a problem that names the limit and quotes only its start, and nothing
// else is done with it (no lookup, no suggestion).
func (n Node) StringMax(max int) (string, bool) {
	if !n.Present() || !n.spend() {
		return "", false
	}
	var s string
	switch v := n.resolve().(type) {
	case *ast.StringNode:
		s = v.Value
	case *ast.LiteralNode:
		s = v.Value.Value
	case *ast.IntegerNode, *ast.FloatNode:
		s = v.GetToken().Value
	default:
		n.Errorf("must be a string, not %s", kindName(v))
		return "", false
	}
	if len(s) > max {
		n.Errorf("too long: %d bytes, where the limit is %d (%s)", len(s), max, suggest.Quote(s))
		return "", false
	}
	return s, true
}

// Bool reads true or false.
func (n Node) Bool() (bool, bool) {
	if !n.Present() || !n.spend() {
		return false, false
	}
	if v, ok := n.resolve().(*ast.BoolNode); ok {
		return v.Value, true
	}
	n.Errorf("must be true or false, not %s", kindName(n.resolve()))
	return false, false
}

// Int reads an integer.
func (n Node) Int() (int, bool) {
	if !n.Present() || !n.spend() {
		return 0, false
	}
	if v, ok := n.resolve().(*ast.IntegerNode); ok {
		switch x := v.Value.(type) {
		case int64:
			return int(x), true
		case uint64:
			if x <= 1<<31 {
				return int(x), true
			}
		}
		n.Errorf("integer out of range")
		return 0, false
	}
	n.Errorf("must be an integer, not %s", kindName(n.resolve()))
	return 0, false
}

// OneOf reads a string that must be one of allowed; the problem lists them.
func (n Node) OneOf(allowed ...string) (string, bool) {
	return n.OneOfAliased(nil, allowed...)
}

// OneOfAliased is OneOf where other names people use for a value ("vmware" for
// esxi, "amd64" for x86_64) are suggested by what they mean, not by spelling.
// An alias is still an error: the file keeps one spelling for each value.
func (n Node) OneOfAliased(aliases map[string]string, allowed ...string) (string, bool) {
	s, ok := n.String()
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	hint := nearest(s, allowed)
	// An alias is suggested only where what it means is accepted: "vmware" is
	// esxi for a host, but no guest runs esxi.
	if a, ok := aliases[strings.ToLower(s)]; ok && slices.Contains(allowed, a) {
		hint = fmt.Sprintf("; did you mean %q?", a)
	}
	n.Errorf("unknown value %s (one of: %s)%s", suggest.Quote(s), strings.Join(allowed, ", "), hint)
	return "", false
}

// nearest suggests the closest candidate within a small edit distance, or one
// that shares all but the last two letters of s ("migrate" for "migration"), as
// a problem's suffix. Package suggest bounds the work.
func nearest(s string, candidates []string) string {
	if len(s) > suggest.MaxLen {
		return ""
	}
	lower := strings.ToLower(s)
	for _, c := range candidates {
		if n := commonPrefix(lower, c); n >= 4 && n >= len(lower)-2 {
			return fmt.Sprintf("; did you mean %q?", c)
		}
	}
	if best := suggest.Nearest(s, candidates); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Nearest is the suggestion suffix used in problems ("; did you mean ...?"), for
// callers that validate values themselves.
func Nearest(s string, candidates []string) string { return nearest(s, candidates) }

// Entry is one key of a mapping with free-form keys.
type Entry struct {
	Key   string
	Value Node
}

// Entries reads a mapping whose keys are data (ids), in document order, reporting
// duplicates.
func (n Node) Entries() []Entry {
	if !n.Present() || !n.spend() {
		return nil
	}
	values, ok := n.mapping()
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	out := make([]Entry, 0, len(values))
	for _, mv := range values {
		key := keyString(mv.Key)
		if seen[key] {
			Node{d: n.d, n: mv.Key, path: n.path.key_(key)}.Errorf("duplicate key %q", key)
			continue
		}
		seen[key] = true
		out = append(out, Entry{Key: key, Value: n.child(mv.Value, n.path.key_(key))})
	}
	return out
}

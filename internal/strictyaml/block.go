package strictyaml

import (
	"bytes"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// parseBlock builds the syntax tree of the plainest YAML there is: block
// mappings and sequences indented with spaces, keys that are words, values on
// one line (a plain word or number, or a quoted string of printable ASCII
// without escapes), and comments. That is what generated topology files and
// most hand-written ones hold. ok is false for anything else (flow
// collections, anchors, tags, block or multi-line scalars, escapes, tabs, a key
// without a value), and the caller then gives the document to goccy/go-yaml's
// parser.
//
// Why it is written here: goccy's parser is general, and so costs about 30 µs
// and 590 allocations for a generated topology, where this path takes about 10
// µs and 270 (BenchmarkParse); it was 40% of the CPU of a plan of 20,000 files
// (docs/PERFORMANCE.md). This path builds the same nodes
// with goccy's own constructors and types each scalar with goccy's own
// token.New, so nothing above can tell the two apart: the nodes' types, values,
// lines and columns are the parser's. TestBlockIsGoccys and FuzzBlockIsGoccys
// hold that for every document this path accepts. The tokens it makes carry
// what strictyaml reads (type, value, line, column), not the parser's links
// between tokens or their offsets. data is valid UTF-8 without NUL bytes, as
// Parse has checked.
func parseBlock(data []byte) (root ast.Node, ok bool) {
	// A carriage return breaks lines for the parser, in comments too.
	if bytes.IndexByte(data, '\r') >= 0 {
		return nil, false
	}
	// One string of the whole document: every key and value is a substring
	// of it, not an allocation of its own.
	p := blockParser{data: data, src: string(data)}
	p.next()
	if p.eof() || p.indent != 0 {
		return nil, false
	}
	root, ok = p.node(0)
	return root, ok && p.eof()
}

// blockParser reads data one line at a time. The current line is the next one
// that holds more than a comment; indent and at describe where its content
// starts, which for a mapping inside a sequence entry ("- name: vm0") is after
// the dash.
type blockParser struct {
	data   []byte
	src    string // data, as one string
	pos    int    // start of the line after the current one
	lineNo int    // the current line's number, 1-based
	start  int    // offset of the current line's first byte
	at     int    // offset of the current content
	end    int    // offset of the current line's end (its '\n', or len(data))
	indent int    // column of the current content, 0-based
	bad    bool   // a line this path does not read: the parser's document
}

func (p *blockParser) eof() bool { return p.at < 0 }

// next moves to the next line with content, skipping blank and comment lines.
// A document marker or a directive refuses the document (bad).
func (p *blockParser) next() {
	for p.pos < len(p.data) {
		p.lineNo++
		p.start = p.pos
		end := p.start
		for end < len(p.data) && p.data[end] != '\n' {
			end++
		}
		p.end, p.pos = end, end+1
		i := p.start
		for i < end && p.data[i] == ' ' {
			i++
		}
		if i == end || p.data[i] == '#' {
			continue
		}
		if i == p.start && (p.data[i] == '%' || marker(p.data[i:end])) {
			p.bad = true
		}
		p.at, p.indent = i, i-p.start
		return
	}
	p.at = -1
}

func (p *blockParser) position(off int) *token.Position {
	return &token.Position{Line: p.lineNo, Column: off - p.start + 1, Offset: off}
}

// entry reports whether the current content is a sequence entry ("- ").
func (p *blockParser) entry() bool {
	return p.data[p.at] == '-' && p.at+1 < p.end && p.data[p.at+1] == ' '
}

// node reads the mapping or sequence at column col.
func (p *blockParser) node(col int) (ast.Node, bool) {
	if p.bad || p.eof() || p.indent != col {
		return nil, false
	}
	if p.entry() {
		return p.sequence(col)
	}
	return p.mapping(col)
}

func (p *blockParser) mapping(col int) (ast.Node, bool) {
	var m *ast.MappingNode
	var keys keySet
	for !p.eof() && p.indent == col && !p.entry() {
		if p.bad {
			return nil, false
		}
		colon, ok := p.keyAt(p.at)
		if !ok {
			return nil, false
		}
		k := p.src[p.at:colon]
		ktk := token.New(k, k, p.position(p.at))
		// The parser refuses a key twice in a mapping: it says so.
		if ktk.Type != token.StringType || keys.seen(k) {
			return nil, false
		}
		ctk := token.MappingValue(p.position(colon))
		var value ast.Node
		if rest := p.skipSpaces(colon + 1); rest == p.end || p.data[rest] == '#' {
			// The value is a block on the lines below: deeper, or a sequence at
			// this column ("guests:" then "- name: ..."). An empty value is
			// left to the parser.
			p.next()
			switch {
			case p.eof() || p.bad:
				return nil, false
			case p.indent > col:
				value, ok = p.node(p.indent)
			case p.indent == col && p.entry():
				value, ok = p.sequence(col)
			default:
				return nil, false
			}
		} else {
			value, ok = p.lastScalar(rest, col)
		}
		if !ok {
			return nil, false
		}
		mv := ast.MappingValue(ctk, ast.String(ktk), value)
		if m == nil {
			m = ast.Mapping(ctk, false)
		}
		m.Values = append(m.Values, mv)
	}
	if m == nil {
		return nil, false
	}
	return m, true
}

func (p *blockParser) sequence(col int) (ast.Node, bool) {
	s := ast.Sequence(token.SequenceEntry("-", p.position(p.at)), false)
	for !p.eof() && p.indent == col && p.entry() {
		if p.bad {
			return nil, false
		}
		at := p.skipSpaces(p.at + 1)
		if at == p.end || p.data[at] == '#' || (p.data[at] == '-' && (at+1 == p.end || p.data[at+1] == ' ')) {
			return nil, false // an entry on the lines below, or a list in a list
		}
		var value ast.Node
		var ok bool
		if _, isKey := p.keyAt(at); isKey {
			// "- name: vm0": a mapping whose column is the key's.
			p.at, p.indent = at, at-p.start
			value, ok = p.mapping(p.indent)
		} else {
			value, ok = p.lastScalar(at, col)
		}
		if !ok {
			return nil, false
		}
		s.Values = append(s.Values, value)
	}
	return s, true
}

// keyAt reads a key at i, and says where its colon is: a word of letters, digits, '_', '-' and '.', starting
// with a letter or '_', then ':' and a space or the line's end.
func (p *blockParser) keyAt(i int) (colon int, ok bool) {
	j := i
	for j < p.end && wordByte(p.data[j]) {
		j++
	}
	if j == i || !letter(p.data[i]) || j == p.end || p.data[j] != ':' {
		return 0, false
	}
	if j+1 < p.end && p.data[j+1] != ' ' {
		return 0, false
	}
	return j, true
}

// scalar reads a value that runs to the line's end or a comment: a plain
// scalar of safe bytes (letters, digits, "._-/+" and single inner spaces), or
// a quoted string without escapes. goccy's token.New gives a plain scalar its
// type, as the parser's scanner does.
func (p *blockParser) scalar(i int) (ast.Node, bool) {
	pos := p.position(i)
	switch c := p.data[i]; c {
	case '"', '\'':
		j := i + 1
		// Printable ASCII only: the parser reads a tab, a control byte or a
		// line separator in quotes its own way.
		for j < p.end && p.data[j] != c && p.data[j] != '\\' && p.data[j] >= ' ' && p.data[j] < 0x7f {
			j++
		}
		if j == p.end || p.data[j] != c || !p.endsLine(j+1) {
			return nil, false
		}
		v := p.src[i+1 : j]
		if c == '"' {
			return ast.String(token.DoubleQuote(v, p.src[i:j+1], pos)), true
		}
		return ast.String(token.SingleQuote(v, p.src[i:j+1], pos)), true
	}
	j := i
	for j < p.end {
		c := p.data[j]
		if c == ' ' {
			if j+1 < p.end && p.data[j+1] != ' ' && p.data[j+1] != '#' {
				j++
				continue
			}
			break
		}
		if !plainByte(c) {
			return nil, false
		}
		j++
	}
	if j == i || !p.endsLine(j) || (p.data[i] == '-' && (j == i+1 || p.data[i+1] == ' ')) {
		return nil, false
	}
	// The parser places a plain scalar with spaces after it (and no comment)
	// as many columns to the right; its columns are the ones to give.
	if j < p.end && p.skipSpaces(j) == p.end {
		return nil, false
	}
	v := p.src[i:j]
	tk := token.New(v, v, pos)
	switch tk.Type {
	case token.StringType:
		return ast.String(tk), true
	case token.IntegerType:
		return ast.Integer(tk), true
	case token.FloatType:
		return ast.Float(tk), true
	case token.BoolType:
		return ast.Bool(tk), true
	case token.NullType:
		return ast.Null(tk), true
	}
	return nil, false
}

// lastScalar reads the scalar at i that ends the line of a node at column col,
// and moves to the next line. A deeper line after it continues the scalar, or
// is a mistake: the parser says which.
func (p *blockParser) lastScalar(i, col int) (ast.Node, bool) {
	value, ok := p.scalar(i)
	p.next()
	return value, ok && (p.eof() || p.indent <= col)
}

// endsLine reports whether only spaces and a comment follow i on the line.
func (p *blockParser) endsLine(i int) bool {
	j := p.skipSpaces(i)
	return j == p.end || (j > i && p.data[j] == '#')
}

func (p *blockParser) skipSpaces(i int) int {
	for i < p.end && p.data[i] == ' ' {
		i++
	}
	return i
}

// marker reports whether a line starts with "---" or "...", a document's start
// or end.
func marker(line []byte) bool {
	return len(line) >= 3 && (string(line[:3]) == "---" || string(line[:3]) == "...")
}

func letter(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

func wordByte(c byte) bool {
	return letter(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'
}

func plainByte(c byte) bool { return wordByte(c) || c == '/' || c == '+' }

// keySet is the keys of one mapping: a list while it is short, as mappings
// are, then a map, so a mapping of many keys costs no more than the parser.
type keySet struct {
	list []string
	set  map[string]bool
}

func (s *keySet) seen(k string) bool {
	if s.set != nil {
		if s.set[k] {
			return true
		}
		s.set[k] = true
		return false
	}
	for _, x := range s.list {
		if x == k {
			return true
		}
	}
	s.list = append(s.list, k)
	if len(s.list) > 16 {
		s.set = make(map[string]bool, 2*len(s.list))
		for _, x := range s.list {
			s.set[x] = true
		}
	}
	return false
}

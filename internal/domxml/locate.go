// Package domxml reads and edits libvirt domain XML as text. Edits splice new
// bytes into the elements they concern (<cpu>, <features><hyperv>, and nestvirt's
// own <metadata> element) and leave every other byte as it was: no round trip
// through a struct that drops what it does not know, no re-indentation, comments,
// namespaces and unknown elements kept. encoding/xml is used only to find offsets.
package domxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxSize bounds a domain XML document; libvirt's own limit for a domain is 10 MB
// (VIR_DOMAIN_XML_MAX... the RPC string limit), real ones are a few KB.
const MaxSize = 10 << 20

// span is a byte range [Start, End) of the document.
type span struct{ Start, End int }

func (s span) valid() bool { return s.End > s.Start }

// element is an element found in the document, with its attributes.
type element struct {
	span
	Name  string
	qname string // prefix:name as written, to match end tags
	Attrs []xml.Attr
	// Children are direct child elements, when requested.
	Children []element
	// InnerStart is where the content starts (after the start tag); equal to End for
	// a self-closing element.
	InnerStart, InnerEnd int
	SelfClosing          bool
}

func (e element) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// doc is a parsed view of a domain document: the root and its direct children with
// their own children, by byte offsets into Raw.
type doc struct {
	Raw  []byte
	Root element
	Top  []element // direct children of <domain>
}

// ErrNotDomain is returned for XML whose root is not <domain>.
var ErrNotDomain = errors.New("not a libvirt domain: the root element is not <domain>")

// parse locates <domain>'s children. It refuses oversized input, DTDs (no entity
// can be declared, so none can expand), and anything encoding/xml finds malformed.
func parse(raw []byte) (*doc, error) {
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("domain XML is %d bytes; the limit is %d", len(raw), MaxSize)
	}
	d := &doc{Raw: raw}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	var stack []*element
	for {
		start := int(dec.InputOffset())
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			line, col := dec.InputPos()
			return nil, fmt.Errorf("XML line %d column %d: %w", line, col, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				return nil, fmt.Errorf("a DOCTYPE is not allowed in domain XML (entities could expand or read files)")
			}
		case xml.StartElement:
			if len(stack) >= 256 {
				return nil, fmt.Errorf("elements nest deeper than 256 levels")
			}
			if len(stack) == 0 && (t.Name.Local != "domain" || d.Root.Name != "") {
				return nil, ErrNotDomain
			}
			// libvirt's own elements carry no prefix; a prefixed one (<a:cpu>) is
			// another namespace's, named with its prefix so no lookup of
			// libvirt's elements ever finds it.
			stack = append(stack, &element{Name: qname(t.Name), qname: qname(t.Name), Attrs: t.Attr, span: span{Start: start}, InnerStart: int(dec.InputOffset())})
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("unbalanced end tag </%s>", t.Name.Local)
			}
			el := stack[len(stack)-1]
			if end := qname(t.Name); end != el.qname {
				line, col := dec.InputPos()
				return nil, fmt.Errorf("XML line %d column %d: </%s> closes <%s>: the document is malformed", line, col, end, el.qname)
			}
			stack = stack[:len(stack)-1]
			el.End = int(dec.InputOffset())
			el.InnerEnd = start
			// A self-closing tag yields its end at the same offset as its start.
			el.SelfClosing = start == el.InnerStart && bytes.HasSuffix(raw[el.Start:el.InnerStart], []byte("/>"))
			if el.SelfClosing {
				el.End, el.InnerEnd = el.InnerStart, el.InnerStart
			}
			if len(stack) == 0 {
				d.Root = *el
				continue
			}
			// Children are kept three levels down (<features><hyperv><relaxed>),
			// and in <metadata> one level: other tools' elements there can be
			// any number, and only their namespaces are read.
			if level := len(stack); level <= 3 && (level < 3 || stack[1].Name != "metadata") {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, *el)
			}
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("XML ends inside <%s>: the document is truncated", stack[len(stack)-1].Name)
	}
	if d.Root.Name != "domain" {
		return nil, ErrNotDomain
	}
	d.Top = d.Root.Children
	return d, nil
}

// qname is a raw token's name as written (RawToken leaves the prefix in Space).
func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// checkFragment verifies that text is one well-formed element named name, as
// unexpose pastes back what expose recorded: a record that is not is refused.
func checkFragment(text, name string) error {
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = true
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("the recorded <%s> is not well-formed XML: %w", name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if t.Name.Local != name {
					return fmt.Errorf("the recorded <%s> is a <%s>", name, t.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return fmt.Errorf("the recorded <%s> has text outside the element", name)
			}
		case xml.Directive, xml.ProcInst:
			return fmt.Errorf("the recorded <%s> holds a directive", name)
		}
	}
	if roots != 1 {
		return fmt.Errorf("the recorded <%s> is %d elements, not one", name, roots)
	}
	return nil
}

func (d *doc) top(name string) (element, bool) {
	for _, e := range d.Top {
		if e.Name == name {
			return e, true
		}
	}
	return element{}, false
}

// indentBefore returns the whitespace that precedes offset on its line, to indent
// inserted lines like their neighbours.
func indentBefore(raw []byte, off int) string {
	i := off
	for i > 0 && (raw[i-1] == ' ' || raw[i-1] == '\t') {
		i--
	}
	if i > 0 && raw[i-1] != '\n' {
		return ""
	}
	return string(raw[i:off])
}

// edit is one replacement of raw[Start:End] by Text.
type edit struct {
	span
	Text string
}

// apply performs non-overlapping edits, in any order.
func apply(raw []byte, edits []edit) []byte {
	// Sort by start, descending, so earlier offsets stay valid.
	for i := 1; i < len(edits); i++ {
		for j := i; j > 0 && edits[j].Start > edits[j-1].Start; j-- {
			edits[j], edits[j-1] = edits[j-1], edits[j]
		}
	}
	out := append([]byte(nil), raw...)
	for _, e := range edits {
		out = append(out[:e.Start], append([]byte(e.Text), out[e.End:]...)...)
	}
	return out
}

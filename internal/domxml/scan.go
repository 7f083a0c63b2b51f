package domxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// scanned is an element a scan located: its name as written and its spans.
type scanned struct {
	name                 string
	start, end           int // the whole element
	innerStart, innerEnd int // its content
	selfClosing          bool
	children             []scanned // <metadata>'s direct children only
	attrs                []xml.Attr
}

// scanDomain locates <domain>'s direct children, and <metadata>'s, by a byte
// scan. Hand-written, for the guard's budget: encoding/xml tokenizes at tens of
// MB/s and allocates per token, and a definition libvirt accepts can be 10 MB
// (other tools' metadata, devices): on a loaded two-CPU host that took the whole
// two seconds the hook may take to decide. This scan does it in milliseconds.
// It follows XML's lexical rules for what can hide a '<' or '>' (comments,
// CDATA sections, processing instructions, quoted attribute values) and
// matches every end tag to its start tag; the elements decoded afterwards are
// checked by libvirtxml. A DOCTYPE is refused, as parse refuses it.
func scanDomain(raw []byte) (root scanned, top []scanned, err error) {
	if len(raw) > MaxSize {
		return scanned{}, nil, fmt.Errorf("domain XML is %d bytes; the limit is %d", len(raw), MaxSize)
	}
	var stack []string
	var cur *scanned // the top-level element open, if any
	var child *scanned
	i := 0
	for {
		lt := bytes.IndexByte(raw[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		rest := raw[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			e := bytes.Index(rest[4:], []byte("-->"))
			if e < 0 {
				return scanned{}, nil, fmt.Errorf("a comment that never ends")
			}
			i += 4 + e + 3
			continue
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			e := bytes.Index(rest[9:], []byte("]]>"))
			if e < 0 {
				return scanned{}, nil, fmt.Errorf("a CDATA section that never ends")
			}
			i += 9 + e + 3
			continue
		case bytes.HasPrefix(rest, []byte("<?")):
			e := bytes.Index(rest[2:], []byte("?>"))
			if e < 0 {
				return scanned{}, nil, fmt.Errorf("a processing instruction that never ends")
			}
			i += 2 + e + 2
			continue
		case bytes.HasPrefix(rest, []byte("<!")):
			return scanned{}, nil, fmt.Errorf("a DOCTYPE is not allowed in domain XML (entities could expand or read files)")
		case bytes.HasPrefix(rest, []byte("</")):
			e := bytes.IndexByte(rest, '>')
			if e < 0 {
				return scanned{}, nil, fmt.Errorf("an end tag that never ends")
			}
			name := string(bytes.TrimSpace(rest[2:e]))
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return scanned{}, nil, fmt.Errorf("</%s> closes no element open: the document is malformed", name)
			}
			stack = stack[:len(stack)-1]
			end := i + e + 1
			switch len(stack) {
			case 0:
				root.innerEnd, root.end = i, end
			case 1:
				cur.innerEnd, cur.end = i, end
				top = append(top, *cur)
				cur = nil
			case 2:
				if child != nil {
					child.innerEnd, child.end = i, end
					cur.children = append(cur.children, *child)
					child = nil
				}
			}
			i = end
			continue
		}
		// A start tag: to its '>', past quoted attribute values.
		j := 1
		for j < len(rest) && rest[j] != '>' {
			if q := rest[j]; q == '"' || q == '\'' {
				e := bytes.IndexByte(rest[j+1:], q)
				if e < 0 {
					return scanned{}, nil, fmt.Errorf("an attribute value that never ends")
				}
				j += 1 + e
			}
			j++
		}
		if j >= len(rest) {
			return scanned{}, nil, fmt.Errorf("XML ends inside a start tag: the document is truncated")
		}
		n := 1
		for n < j && !isSpace(rest[n]) && rest[n] != '/' {
			n++
		}
		name := string(rest[1:n])
		self := rest[j-1] == '/'
		el := scanned{name: name, start: i, innerStart: i + j + 1, selfClosing: self}
		if self {
			el.innerEnd, el.end = el.innerStart, el.innerStart
		}
		switch len(stack) {
		case 0:
			if name != "domain" || root.name != "" {
				return scanned{}, nil, ErrNotDomain
			}
			root = el
		case 1:
			if self {
				top = append(top, el)
			} else {
				cur = &el
			}
		case 2:
			if cur.name == "metadata" {
				el.attrs = startAttrs(rest[:j+1])
				if self {
					cur.children = append(cur.children, el)
				} else {
					child = &el
				}
			}
		}
		if !self {
			if len(stack) >= 256 {
				return scanned{}, nil, fmt.Errorf("elements nest deeper than 256 levels")
			}
			stack = append(stack, name)
		}
		i += j + 1
	}
	if len(stack) > 0 {
		return scanned{}, nil, fmt.Errorf("XML ends inside <%s>: the document is truncated", stack[len(stack)-1])
	}
	if root.name != "domain" {
		return scanned{}, nil, ErrNotDomain
	}
	return root, top, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// startAttrs reads the attributes of one start tag.
func startAttrs(tag []byte) []xml.Attr {
	tok, err := xml.NewDecoder(bytes.NewReader(tag)).RawToken()
	if se, ok := tok.(xml.StartElement); ok && err == nil {
		return se.Attr
	}
	return nil
}

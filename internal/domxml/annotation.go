package domxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Annotation is what nestvirt records in a domain's <metadata>, in its own
// namespace: what the guest runs inside, and what `expose` replaced.
type Annotation struct {
	Runs string   // kvm, hyper-v, wsl2, none; "" unknown
	L2   []string // OS names of the guest's own guests
	OS   string   // the guest's OS when libosinfo metadata is missing or wrong

	Recorded   bool   // expose replaced <cpu>
	CPUPresent bool   // there was a <cpu> before
	CPU        string // its text

	HypervRecorded bool
	HypervPresent  bool
	Hyperv         string

	// MetadataCreated: expose created the domain's <metadata> for this record, so
	// removing the record removes it too.
	MetadataCreated bool
}

// Empty reports whether there is nothing to record.
func (a Annotation) Empty() bool {
	return a.Runs == "" && len(a.L2) == 0 && a.OS == "" && !a.Recorded && !a.HypervRecorded
}

// annXML reads nestvirt's element whatever namespace it carries: in a domain's
// XML it is found by its namespace before it is read; libvirt's metadata API
// (virDomainGetMetadata) hands it back with none ("<guest><runs>..."), as
// libvirt 9.0 does.
type annXML struct {
	XMLName xml.Name `xml:"guest"`
	Created string   `xml:"created-metadata,attr,omitempty"`
	Runs    string   `xml:"runs,omitempty"`
	L2      []string `xml:"l2"`
	OS      string   `xml:"os,omitempty"`
	CPU     *origXML `xml:"original-cpu"`
	Hyperv  *origXML `xml:"original-hyperv"`
}

type origXML struct {
	Present string `xml:"present,attr"`
	Text    string `xml:",chardata"`
}

// ParseAnnotation reads nestvirt's element, as libvirt's metadata API returns it or
// as it stands in a domain's XML.
// Bounds of nestvirt's record: what annotate and expose write is a few hundred
// bytes (an original <cpu> with a NUMA topology a few KB). Anyone who may define
// the domain may write more; a record over these is refused before it is
// decoded, so a guard's decision and an audit stay in budget (2 MiB of <l2>
// elements made the guard fail open, and vms take 20 s).
const (
	MaxAnnotation = 256 << 10 // bytes of the element
	MaxL2         = 64        // <l2> entries: the guest's own guests
	maxValue      = 256       // bytes of runs, os and each l2
)

func ParseAnnotation(element []byte) (Annotation, error) {
	if len(element) > MaxAnnotation {
		return Annotation{}, fmt.Errorf("nestvirt metadata: the record is %d bytes; the limit is %d", len(element), MaxAnnotation)
	}
	if n := bytes.Count(element, []byte("l2>")); n > 2*MaxL2 {
		return Annotation{}, fmt.Errorf("nestvirt metadata: the record lists about %d L2 guests; the limit is %d", n/2, MaxL2)
	}
	var x annXML
	if err := xml.Unmarshal(element, &x); err != nil {
		return Annotation{}, fmt.Errorf("nestvirt metadata: %w", err)
	}
	if ns := x.XMLName.Space; ns != "" && ns != Namespace {
		return Annotation{}, fmt.Errorf("nestvirt metadata: <guest> in namespace %q, not nestvirt's", ns)
	}
	if len(x.L2) > MaxL2 {
		return Annotation{}, fmt.Errorf("nestvirt metadata: the record lists %d L2 guests; the limit is %d", len(x.L2), MaxL2)
	}
	for _, v := range append([]string{x.Runs, x.OS}, x.L2...) {
		if len(v) > maxValue {
			return Annotation{}, fmt.Errorf("nestvirt metadata: a value is %d bytes; the limit is %d", len(v), maxValue)
		}
	}
	a := Annotation{Runs: x.Runs, L2: x.L2, OS: x.OS, MetadataCreated: x.Created == "yes"}
	if x.CPU != nil {
		a.Recorded, a.CPUPresent, a.CPU = true, x.CPU.Present == "yes", x.CPU.Text
	}
	if x.Hyperv != nil {
		a.HypervRecorded, a.HypervPresent, a.Hyperv = true, x.Hyperv.Present == "yes", x.Hyperv.Text
	}
	return a, nil
}

// Inner is the element's XML without a namespace prefix, as libvirt's
// virDomainSetMetadata takes it (libvirt adds the namespace from its key and URI).
func (a Annotation) Inner() string { return a.render("", "") }

// Element is the element as it stands inside a domain's <metadata>.
func (a Annotation) Element(indent string) string { return a.render(Prefix+":", indent) }

func (a Annotation) render(p, indent string) string {
	var b strings.Builder
	// Text content needs only &, < and > escaped; quotes and newlines stay readable.
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	open := "<" + p + "guest"
	if p != "" {
		open += " xmlns:" + Prefix + "=\"" + Namespace + "\""
	}
	if a.MetadataCreated {
		open += " created-metadata=\"yes\""
	}
	b.WriteString(open + ">")
	line := func(s string) { b.WriteString("\n" + indent + "  " + s) }
	if a.Runs != "" {
		line("<" + p + "runs>" + esc(a.Runs) + "</" + p + "runs>")
	}
	for _, l := range a.L2 {
		line("<" + p + "l2>" + esc(l) + "</" + p + "l2>")
	}
	if a.OS != "" {
		line("<" + p + "os>" + esc(a.OS) + "</" + p + "os>")
	}
	orig := func(name string, present bool, text string) {
		yes := "no"
		if present {
			yes = "yes"
		}
		line(fmt.Sprintf("<%s%s present=\"%s\">%s</%s%s>", p, name, yes, esc(text), p, name))
	}
	if a.Recorded {
		orig("original-cpu", a.CPUPresent, a.CPU)
	}
	if a.HypervRecorded {
		orig("original-hyperv", a.HypervPresent, a.Hyperv)
	}
	b.WriteString("\n" + indent + "</" + p + "guest>")
	return b.String()
}

// ourElement finds nestvirt's element inside <metadata>.
func (d *doc) ourElement() (element, element, bool, bool) {
	md, ok := d.top("metadata")
	if !ok {
		return element{}, element{}, false, false
	}
	for _, c := range md.Children {
		for _, at := range c.Attrs {
			if (at.Name.Space == "xmlns" || at.Name.Local == "xmlns") && at.Value == Namespace {
				return md, c, true, true
			}
		}
	}
	return md, element{}, true, false
}

// annotation reads nestvirt's record in the document (zero when absent).
func (d *doc) annotation() (Annotation, error) {
	_, el, _, ok := d.ourElement()
	if !ok {
		return Annotation{}, nil
	}
	return ParseAnnotation(d.Raw[el.Start:el.End])
}

// parseAnnotated parses a domain and reads nestvirt's record in it.
func parseAnnotated(raw []byte) (*doc, Annotation, error) {
	d, err := parse(raw)
	if err != nil {
		return nil, Annotation{}, err
	}
	a, err := d.annotation()
	return d, a, err
}

// ReadAnnotation reads nestvirt's record from a domain's XML.
func ReadAnnotation(raw []byte) (Annotation, error) {
	_, a, err := parseAnnotated(raw)
	return a, err
}

// setAnnotation writes a (replaces nestvirt's element, creating <metadata> when
// needed); an empty annotation removes the element.
func (d *doc) setAnnotation(a Annotation) edit {
	md, el, hasMD, hasEl := d.ourElement()
	raw := d.Raw
	switch {
	case hasEl && a.Empty() && a.MetadataCreated && len(md.Children) == 1:
		return edit{span{lineStart(raw, md.Start), lineEnd(raw, md.End)}, ""}
	case hasEl && a.Empty():
		return edit{span{lineStart(raw, el.Start), lineEnd(raw, el.End)}, ""}
	case hasEl:
		return edit{el.span, a.Element(indentBefore(raw, el.Start))}
	case a.Empty():
		return edit{}
	case hasMD && md.SelfClosing:
		ind := indentBefore(raw, md.Start)
		return edit{md.span, "<metadata>\n" + ind + "  " + a.Element(ind+"  ") + "\n" + ind + "</metadata>"}
	case hasMD:
		ind := indentBefore(raw, md.Start) + "  "
		at := lineStart(raw, md.InnerEnd)
		if at != md.InnerEnd {
			return edit{span{at, at}, ind + a.Element(ind) + "\n"}
		}
		return edit{span{at, at}, a.Element(ind)}
	}
	ind := "  "
	if len(d.Top) > 0 {
		ind = indentBefore(raw, d.Top[0].Start)
	}
	a.MetadataCreated = true
	return d.insertTop("<metadata>\n"+ind+"  "+a.Element(ind+"  ")+"\n"+ind+"</metadata>", "description", "title", "uuid", "name")
}

// lineEnd extends off over trailing blanks and one newline.
func lineEnd(raw []byte, off int) int {
	i := off
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t') {
		i++
	}
	if i < len(raw) && raw[i] == '\n' {
		return i + 1
	}
	return off
}

// Unexpose restores what Expose replaced, from nestvirt's metadata record.
func Unexpose(raw []byte) (Result, error) {
	d, a, err := parseAnnotated(raw)
	if err != nil {
		return Result{}, err
	}
	if err := d.editable(); err != nil {
		return Result{}, err
	}
	if !a.Recorded && !a.HypervRecorded {
		return Result{XML: raw, Notes: []string{"nestvirt has no record of exposing this domain: nothing to restore"}}, nil
	}
	if a.Recorded && a.CPUPresent {
		if err := checkFragment(a.CPU, "cpu"); err != nil {
			return Result{}, fmt.Errorf("nestvirt's metadata: %w; nothing restored", err)
		}
	}
	if a.HypervRecorded && a.HypervPresent {
		if err := checkFragment(a.Hyperv, "hyperv"); err != nil {
			return Result{}, fmt.Errorf("nestvirt's metadata: %w; nothing restored", err)
		}
	}
	var edits []edit
	var notes []string
	if a.Recorded {
		cpu, has := d.top("cpu")
		switch {
		case has && a.CPUPresent:
			edits = append(edits, edit{cpu.span, a.CPU})
		case has:
			edits = append(edits, edit{span{lineStart(d.Raw, cpu.Start), lineEnd(d.Raw, cpu.End)}, ""})
		case a.CPUPresent:
			edits = append(edits, d.insertTop(a.CPU, "features", "os"))
		}
		notes = append(notes, "restored the original <cpu>")
		a.Recorded, a.CPUPresent, a.CPU = false, false, ""
	}
	if a.HypervRecorded {
		if feats, ok := d.top("features"); ok {
			for _, c := range feats.Children {
				if c.Name != "hyperv" {
					continue
				}
				if a.HypervPresent {
					edits = append(edits, edit{c.span, a.Hyperv})
				} else if len(feats.Children) == 1 {
					edits = append(edits, edit{span{lineStart(d.Raw, feats.Start), lineEnd(d.Raw, feats.End)}, ""})
				} else {
					edits = append(edits, edit{span{lineStart(d.Raw, c.Start), lineEnd(d.Raw, c.End)}, ""})
				}
			}
		}
		notes = append(notes, "restored the original Hyper-V enlightenments")
		a.HypervRecorded, a.HypervPresent, a.Hyperv = false, false, ""
	}
	if e := d.setAnnotation(a); e.valid() || e.Text != "" {
		edits = append(edits, e)
	}
	return Result{XML: apply(d.Raw, edits), Changed: true, Notes: notes}, nil
}

// MetadataKey names what libvirt's metadata API changes in a domain: an element
// of <metadata> by its namespace URI, or <description> or <title>.
type MetadataKey struct {
	URI  string // the element's namespace; "" for Description or Title
	Kind string // "element", "description", "title"
}

// MetadataValue is what a domain's definition holds under key, with the
// blanks between tags removed (libvirt re-indents the elements it keeps), and
// whether it holds anything there. It tells a change another tool made through
// the metadata API from one a definition replaced.
func MetadataValue(raw []byte, key MetadataKey) (string, bool, error) {
	d, err := parse(raw)
	if err != nil {
		return "", false, err
	}
	switch key.Kind {
	case "description", "title":
		e, ok := d.top(key.Kind)
		if !ok || e.SelfClosing {
			return "", ok, nil
		}
		return string(d.Raw[e.InnerStart:e.InnerEnd]), true, nil
	}
	md, ok := d.top("metadata")
	if !ok {
		return "", false, nil
	}
	for _, c := range md.Children {
		for _, at := range c.Attrs {
			if (at.Name.Space == "xmlns" || at.Name.Local == "xmlns") && at.Value == key.URI {
				return string(betweenTags().ReplaceAll(d.Raw[c.Start:c.End], []byte("><"))), true, nil
			}
		}
	}
	return "", false, nil
}

var betweenTags = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`>\s+<`) })

// SameDefinition says whether two domain definitions say the same: the same
// elements, attributes (in any order, either quote) and text, whatever the
// blanks between tags and the comments. libvirt re-indents and re-quotes what it
// is given; what it keeps is what it was given.
func SameDefinition(a, b []byte) bool {
	ta, err1 := canonical(a)
	tb, err2 := canonical(b)
	return err1 == nil && err2 == nil && slices.Equal(ta, tb)
}

func canonical(raw []byte) ([]string, error) {
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("domain XML is %d bytes; the limit is %d", len(raw), MaxSize)
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var out []string
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			attrs := make([]string, len(t.Attr))
			for i, a := range t.Attr {
				attrs[i] = qname(a.Name) + "=" + a.Value
			}
			slices.Sort(attrs)
			out = append(out, "<"+qname(t.Name)+" "+strings.Join(attrs, " "))
		case xml.EndElement:
			out = append(out, "</"+qname(t.Name))
		case xml.CharData:
			if s := strings.TrimSpace(string(t)); s != "" {
				out = append(out, s)
			}
		}
	}
}

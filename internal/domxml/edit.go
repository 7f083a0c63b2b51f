package domxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/nestvirt/nestvirt/internal/arch"
)

// Namespace is nestvirt's metadata namespace in domain XML.
const Namespace = "https://nestvirt.dev/xmlns/libvirt/1"

// Prefix is the namespace prefix nestvirt writes.
const Prefix = "nestvirt"

// ExposeOptions say what to expose.
type ExposeOptions struct {
	Arch   string // the guest's arch; "" reads it from <os><type arch=...>
	Vendor string // intel or amd, for x86 guests
	// Hyperv adds the Hyper-V enlightenments a Windows guest needs to run Hyper-V or
	// WSL2 inside (enlightened VMCS only on Intel).
	Hyperv bool
}

// Result is an edit's outcome.
type Result struct {
	XML     []byte
	Changed bool
	Notes   []string // what was done, for the user
}

// hypervEnlightenments are the <hyperv> children nested Hyper-V relies on, in
// libvirt's order.
var hypervEnlightenments = []struct{ name, attrs string }{
	{"relaxed", "state='on'"}, {"vapic", "state='on'"}, {"spinlocks", "state='on' retries='8191'"},
	{"vpindex", "state='on'"}, {"runtime", "state='on'"}, {"synic", "state='on'"}, {"stimer", "state='on'"},
	{"frequencies", "state='on'"}, {"tlbflush", "state='on'"}, {"ipi", "state='on'"}, {"evmcs", "state='on'"},
}

// Expose makes the domain expose hardware virtualization to its guest, recording
// what it replaces in nestvirt's metadata so Unexpose can restore it.
func Expose(raw []byte, o ExposeOptions) (Result, error) {
	d, meta, err := parseAnnotated(raw)
	if err != nil {
		return Result{}, err
	}
	if err := d.editable(); err != nil {
		return Result{}, err
	}
	guestArch := o.Arch
	if guestArch == "" {
		guestArch = d.arch()
	}
	info := arch.Of(guestArch, o.Vendor)
	feat := info.Flag
	switch {
	case !info.Nestable:
		return Result{}, fmt.Errorf("nested virtualization does not work on %s (only Intel, AMD and IBM Z); nothing exposed", orUnknown(guestArch))
	case feat == "":
		return Result{}, fmt.Errorf("an x86 guest needs the host's CPU vendor (intel or amd) to choose vmx or svm")
	}
	var edits []edit
	var notes []string
	cpu, hasCPU := d.top("cpu")
	cpuText := ""
	if hasCPU {
		cpuText = string(raw[cpu.Start:cpu.End])
	}
	newCPU, cpuNote := exposeCPU(raw, cpu, hasCPU, feat)
	if newCPU != cpuText {
		if hasCPU {
			edits = append(edits, edit{cpu.span, newCPU})
		} else {
			edits = append(edits, d.insertTop(newCPU, "features", "os"))
		}
		notes = append(notes, cpuNote)
		if !meta.Recorded {
			meta.Recorded, meta.CPUPresent, meta.CPU = true, hasCPU, cpuText
		}
	} else {
		notes = append(notes, cpuNote)
	}
	if o.Hyperv && info.Hyperv {
		e, note, orig, had, ok := d.exposeHyperv(info.EVMCS)
		if ok {
			edits = append(edits, e)
			notes = append(notes, note)
			if !meta.HypervRecorded {
				meta.HypervRecorded, meta.HypervPresent, meta.Hyperv = true, had, orig
			}
		}
	}
	if len(edits) == 0 {
		return Result{XML: raw, Notes: notes}, nil
	}
	edits = append(edits, d.setAnnotation(meta))
	return Result{XML: apply(raw, edits), Changed: true, Notes: notes}, nil
}

// editable refuses a definition that libvirt would not take or that an edit
// of its <cpu> could not mean one way: no <name>, two of them, two <cpu>
// elements (which one would be edited?), a <cpu> inside the <cpu>, text or
// CDATA directly in it (a hidden <feature> that reads as one to a reader and
// as text to libvirt).
func (d *doc) editable() error {
	names, cpus := 0, 0
	var cpu element
	for _, e := range d.Top {
		switch e.Name {
		case "name":
			names++
			if strings.TrimSpace(string(d.Raw[e.InnerStart:e.InnerEnd])) == "" {
				names-- // an empty name is none
			}
		case "cpu":
			cpus++
			cpu = e
		}
	}
	switch {
	case names == 0:
		return fmt.Errorf("the domain has no <name>: libvirt defines no domain without one; nothing edited")
	case names > 1:
		return fmt.Errorf("the domain has %d <name> elements: libvirt takes one; nothing edited", names)
	case cpus > 1:
		return fmt.Errorf("the domain has %d <cpu> elements: libvirt takes one, and which one an edit would change is not clear; nothing edited", cpus)
	case cpus == 0 || cpu.SelfClosing:
		return nil
	}
	at := cpu.InnerStart
	for _, c := range cpu.Children {
		if c.Name == "cpu" {
			return fmt.Errorf("the domain has a <cpu> inside <cpu>: not a definition libvirt takes; nothing edited")
		}
		if err := cpuText(d.Raw[at:c.Start]); err != nil {
			return err
		}
		at = c.End
	}
	return cpuText(d.Raw[at:cpu.InnerEnd])
}

// cpuText refuses what stands between <cpu>'s children other than blanks and
// comments.
func cpuText(b []byte) error {
	for len(b) > 0 {
		b = bytes.TrimLeft(b, " \t\r\n")
		if bytes.HasPrefix(b, []byte("<!--")) {
			end := bytes.Index(b, []byte("-->"))
			if end < 0 {
				break
			}
			b = b[end+3:]
			continue
		}
		if len(b) > 0 {
			return fmt.Errorf("the domain has text in <cpu> (%.40q): libvirt reads none there, and CDATA would hide elements from a reader; nothing edited", b)
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown arch"
	}
	return s
}

// exposeCPU returns the new <cpu> element text.
func exposeCPU(raw []byte, cpu element, has bool, feat string) (string, string) {
	if !has {
		return "<cpu mode='host-passthrough' check='none' migratable='on'/>", "added <cpu mode='host-passthrough'/> (the domain had no <cpu>)"
	}
	text := string(raw[cpu.Start:cpu.End])
	mode := cpu.attr("mode")
	switch mode {
	case "host-passthrough", "maximum":
		return text, fmt.Sprintf("<cpu mode='%s'> already passes %s through when the host has it", mode, feat)
	}
	hasModel := false
	for _, c := range cpu.Children {
		if c.Name == "model" {
			hasModel = true
		}
	}
	if mode != "host-model" && !hasModel {
		// A custom CPU without a model cannot carry features: pass the host through,
		// keeping the topology, NUMA and cache children.
		attrs := setAttr(cpu.Attrs, "mode", "host-passthrough")
		tag := startTag("cpu", attrs, cpu.SelfClosing)
		return tag + text[cpu.InnerStart-cpu.Start:], "set <cpu mode='host-passthrough'> (a custom CPU without a model cannot require " + feat + ")"
	}
	for _, c := range cpu.Children {
		if c.Name != "feature" || c.attr("name") != feat {
			continue
		}
		switch c.attr("policy") {
		case "require", "force":
			return text, fmt.Sprintf("<feature policy='%s' name='%s'/> is already there", c.attr("policy"), feat)
		}
		tag := startTag("feature", setAttr(c.Attrs, "policy", "require"), c.SelfClosing)
		rel := c.Start - cpu.Start
		return text[:rel] + tag + text[c.InnerStart-cpu.Start:], fmt.Sprintf("changed <feature name='%s'> from policy '%s' to 'require'", feat, c.attr("policy"))
	}
	feature := fmt.Sprintf("<feature policy='require' name='%s'/>", feat)
	ind := indentBefore(raw, cpu.Start)
	childInd := ind + "  "
	for _, c := range cpu.Children {
		childInd = indentBefore(raw, c.Start)
		break
	}
	note := fmt.Sprintf("added <feature policy='require' name='%s'/> to the %s CPU", feat, orDefault(mode, "custom"))
	if cpu.SelfClosing {
		open := startTag("cpu", cpu.Attrs, false)
		return open + "\n" + childInd + feature + "\n" + ind + "</cpu>", note
	}
	inner := text[cpu.InnerStart-cpu.Start : cpu.InnerEnd-cpu.Start]
	end := text[cpu.InnerEnd-cpu.Start:]
	trimmed := strings.TrimRight(inner, " \t")
	if strings.HasSuffix(trimmed, "\n") {
		return text[:cpu.InnerStart-cpu.Start] + trimmed + childInd + feature + "\n" + ind + end, note
	}
	return text[:cpu.InnerStart-cpu.Start] + inner + feature + end, note
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// exposeHyperv ensures the enlightenments inside <features><hyperv>. It returns the
// edit, a note, the original <hyperv> text, whether there was one, and whether any
// change is needed.
func (d *doc) exposeHyperv(intel bool) (edit, string, string, bool, bool) {
	raw := d.Raw
	want := hypervEnlightenments
	if !intel {
		want = want[:len(want)-1] // evmcs is Intel's enlightened VMCS
	}
	feats, hasFeats := d.top("features")
	var hv element
	hasHV := false
	if hasFeats {
		for _, c := range feats.Children {
			if c.Name == "hyperv" {
				hv, hasHV = c, true
			}
		}
	}
	lines := func(ind string, have map[string]bool) []string {
		var out []string
		for _, w := range want {
			if !have[w.name] {
				out = append(out, fmt.Sprintf("%s<%s %s/>", ind, w.name, w.attrs))
			}
		}
		return out
	}
	switch {
	case !hasFeats:
		ind := "  "
		body := strings.Join(lines(ind+"    ", nil), "\n")
		text := "<features>\n" + ind + "  <hyperv mode='custom'>\n" + body + "\n" + ind + "  </hyperv>\n" + ind + "</features>"
		return d.insertTop(text, "os"), "added <features><hyperv> with the enlightenments nested Hyper-V needs", "", false, true
	case !hasHV:
		ind := indentBefore(raw, feats.Start) + "  "
		body := strings.Join(lines(ind+"  ", nil), "\n")
		text := ind + "<hyperv mode='custom'>\n" + body + "\n" + ind + "</hyperv>\n"
		if feats.SelfClosing {
			full := startTag("features", feats.Attrs, false) + "\n" + text + indentBefore(raw, feats.Start) + "</features>"
			return edit{feats.span, full}, "added <hyperv> enlightenments to <features>", "", false, true
		}
		at := lineStart(raw, feats.InnerEnd)
		return edit{span{at, at}, text}, "added <hyperv> enlightenments to <features>", "", false, true
	}
	have := map[string]bool{}
	for _, c := range hv.Children {
		if c.attr("state") != "off" {
			have[c.Name] = true
		}
	}
	missing := lines(indentBefore(raw, hv.Start)+"  ", have)
	if len(missing) == 0 {
		return edit{}, "", "", true, false
	}
	orig := string(raw[hv.Start:hv.End])
	if hv.SelfClosing {
		ind := indentBefore(raw, hv.Start)
		text := startTag("hyperv", hv.Attrs, false) + "\n" + strings.Join(missing, "\n") + "\n" + ind + "</hyperv>"
		return edit{hv.span, text}, "added Hyper-V enlightenments", orig, true, true
	}
	at := lineStart(raw, hv.InnerEnd)
	return edit{span{at, at}, strings.Join(missing, "\n") + "\n"}, "added missing Hyper-V enlightenments", orig, true, true
}

// lineStart moves off back to the start of its line when only blanks precede it.
func lineStart(raw []byte, off int) int {
	i := off
	for i > 0 && (raw[i-1] == ' ' || raw[i-1] == '\t') {
		i--
	}
	if i > 0 && raw[i-1] == '\n' {
		return i
	}
	return off
}

// insertTop inserts a new direct child of <domain> after the first existing element
// named in after, else before </domain>, indented like its siblings.
func (d *doc) insertTop(text string, after ...string) edit {
	ind := "  "
	if len(d.Top) > 0 {
		ind = indentBefore(d.Raw, d.Top[0].Start)
	}
	for _, name := range after {
		if e, ok := d.top(name); ok {
			return edit{span{e.End, e.End}, "\n" + ind + text}
		}
	}
	at := lineStart(d.Raw, d.Root.InnerEnd)
	if at != d.Root.InnerEnd {
		return edit{span{at, at}, ind + text + "\n"}
	}
	return edit{span{at, at}, text}
}

func setAttr(attrs []xml.Attr, name, value string) []xml.Attr {
	out := append([]xml.Attr(nil), attrs...)
	for i, a := range out {
		if a.Name.Local == name && a.Name.Space == "" {
			out[i].Value = value
			return out
		}
	}
	return append([]xml.Attr{{Name: xml.Name{Local: name}, Value: value}}, out...)
}

// startTag writes a start tag; attribute values are escaped, single-quoted as
// libvirt writes them.
func startTag(name string, attrs []xml.Attr, selfClosing bool) string {
	var b strings.Builder
	b.WriteString("<" + name)
	for _, a := range attrs {
		n := a.Name.Local
		if a.Name.Space != "" {
			n = a.Name.Space + ":" + n
		}
		b.WriteString(" " + n + "='" + escapeAttr(a.Value) + "'")
	}
	if selfClosing {
		b.WriteString("/>")
	} else {
		b.WriteString(">")
	}
	return b.String()
}

func escapeAttr(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&apos;")
}

// arch reads <os><type arch='...'>.
func (d *doc) arch() string {
	osEl, ok := d.top("os")
	if !ok {
		return ""
	}
	for _, c := range osEl.Children {
		if c.Name == "type" {
			return c.attr("arch")
		}
	}
	return ""
}

// HypervWanted decides whether expose adds Hyper-V's enlightenments: mode on
// or off says so; auto turns them on for a guest nestvirt's annotation records
// as running WSL2 or Hyper-V, whose nested guests need them.
func HypervWanted(mode string, xml []byte) bool {
	if mode == "auto" {
		ann, _ := ReadAnnotation(xml)
		return ann.Runs == "wsl2" || ann.Runs == "hyper-v"
	}
	return mode == "on"
}

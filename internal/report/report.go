// Package report renders results for people (text, colours on a terminal only) and
// for programs (JSON). It only writes to the writer it is given.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/nestvirt/nestvirt/internal/policy"
)

// Style says how text output looks.
type Style struct {
	Color bool
	Width int  // wrap width for prose; 0 means 100
	ASCII bool // no box drawing or arrows: the locale is not UTF-8
	// FlagsOnly: the machine is read from a sosreport, whose host.yaml cannot be
	// edited from here, so what cannot be read is stated with flags alone.
	FlagsOnly bool
}

// Arrow joins the nodes of a chain.
func (s Style) Arrow() string {
	if s.ASCII {
		return " -> "
	}
	return " → "
}

// text replaces the non-ASCII characters nestvirt writes itself when the locale
// cannot show them, and shows what others named as Visible does.
func (s Style) text(t string) string { return s.ascii(Visible(t)) }

// ascii is text for what nestvirt writes itself (labels, painted or not).
func (s Style) ascii(t string) string {
	if s.FlagsOnly {
		t = orHostFile().ReplaceAllString(t, "")
	}
	if !s.ASCII {
		return t
	}
	return asciiReplacer.Replace(t)
}

// orHostFile is how every text offers host.yaml beside a flag: "state it with
// --l0-os rhel10.0, or in /etc/nestvirt/host.yaml (l0: {os: rhel10.0})".
var orHostFile = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`, or in /etc/nestvirt/host\.yaml( \([^)]*\))?`) })

var asciiReplacer = strings.NewReplacer("→", "->", "≥", ">=", "·", "*", "›", ">", "§", "section ", "“", "\"", "”", "\"", "’", "'", "—", "-", "…", "...")

const (
	reset  = "\x1b[0m"
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
)

var levelColor = map[policy.Level]string{
	policy.Supported:         green,
	policy.TechPreview:       cyan,
	policy.Unsupported:       yellow,
	policy.Untested:          yellow,
	policy.NotExpectedToWork: red,
	policy.DoesNotWork:       bold + red,
}

func (s Style) paint(code, text string) string {
	if !s.Color || code == "" {
		return text
	}
	return code + text + reset
}

// Level renders a level, coloured by severity.
func (s Style) Level(l policy.Level) string { return s.paint(levelColor[l], l.String()) }

func (s Style) width() int {
	if s.Width > 20 {
		return s.Width
	}
	return 100
}

// JSON writes v as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Deciding are the findings that decide a verdict: decided (an undetermined
// finding changes no verdict), not informational, and of the verdict's own
// level when that is worse than a placement. What -q shows, in check, vms and
// plan alike.
func Deciding(fs []policy.Finding, verdict policy.Level) []policy.Finding {
	var out []policy.Finding
	for _, f := range fs {
		if !f.Informational && !f.Undetermined && f.Level == verdict && verdict > policy.TechPreview {
			out = append(out, f)
		}
	}
	return out
}

// findings writes findings as rows: level and rule in columns, then the message,
// source and remedy wrapped beneath. An undetermined finding says what it rests
// on. With cites, each source is referred to by its number (see Cites).
func (s Style) findings(w io.Writer, fs []policy.Finding, indent string, cites *Cites) {
	for _, f := range fs {
		lv := s.Level(f.Level)
		pad := 22 - len(f.Level.String())
		if f.Informational {
			lv, pad = s.paint(dim, "info"), 18
		}
		rule := f.Rule
		if f.Undetermined {
			rule += s.paint(dim, " (undetermined)")
		}
		fmt.Fprintf(w, "%s%s%s%s\n", indent, lv, strings.Repeat(" ", max(pad, 1)), rule)
		in := indent + "    "
		s.wrap(w, in, "", f.Message)
		if f.Undetermined {
			s.wrap(w, in, s.paint(dim, "rests on: "), FactNames(f.Unknown)+", which is not known; this finding changes no verdict")
		}
		if f.Remedy != "" {
			s.wrap(w, in, s.paint(bold, "remedy: "), f.Remedy)
		}
		if cites != nil {
			s.wrap(w, in, s.paint(dim, fmt.Sprintf("source [%d]", cites.Number(f.Source))), "")
			continue
		}
		s.wrap(w, in, s.paint(dim, "source: "), f.Source)
	}
}

// Cites numbers the sources of one text output in the order they are first
// referred to, so each finding refers to its source by number and the quotes
// used are printed once, at the end (WriteSources).
type Cites struct {
	mu   sync.Mutex
	num  map[string]int
	text []string
}

// NewCites starts the numbering of one output.
func NewCites() *Cites { return &Cites{num: map[string]int{}} }

// Number returns the source's number, giving it the next one on first use.
func (c *Cites) Number(src string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.num[src]
	if !ok {
		c.text = append(c.text, src)
		n = len(c.text)
		c.num[src] = n
	}
	return n
}

// WriteSources lists the sources referred to, by number.
func (s Style) WriteSources(w io.Writer, c *Cites) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.text) == 0 {
		return nil
	}
	ew := errWriter(w)
	fmt.Fprintf(ew, "\n%s\n", s.paint(bold, "Sources"))
	for i, t := range c.text {
		s.wrap(ew, "  ", fmt.Sprintf("[%d] ", i+1), t)
	}
	return ew.Err
}

// factNames say in words what an unknown fact is, and how to make it known.
// Every path a rule can read has an entry (a test walks the fact types);
// the guests' paths (l1 to l3) share guestFacts.
var factNames = map[string]string{
	"host.arch":                        "the architecture",
	"host.cpu_vendor":                  "the CPU vendor",
	"host.module":                      "which KVM module this CPU needs",
	"host.flag":                        "which CPU flag gives virtualization",
	"host.nestable":                    "whether KVM nests on this architecture",
	"host.virt_ext":                    "the CPU flags",
	"host.hypervisor_bit":              "whether the CPUID hypervisor bit is set",
	"host.os":                          "the OS (no os-release could be read)",
	"host.vm":                          "what runs this machine",
	"host.hypervisor":                  "what runs this machine (QEMU with KVM, or its emulation?)",
	"host.container":                   "whether this is a container",
	"host.wsl":                         "whether this is WSL",
	"host.cloud":                       "which cloud this machine runs in",
	"host.platform":                    "which Red Hat offering manages the L0 (DMI could not be read)",
	"host.smbios":                      "whether this machine has SMBIOS tables (DMI could not be read)",
	"host.l0_manager":                  "what defines this machine on its L0",
	"host.guest":                       "where this machine stands",
	"host.level":                       "the exact depth",
	"host.level_min":                   "where this machine stands",
	"host.kvm":                         "the state of KVM",
	"host.kvm.available":               "whether KVM is available",
	"host.kvm.module":                  "which KVM module is loaded",
	"host.kvm.nested":                  "the live nested value",
	"host.kvm.hpage":                   "the live hpage value",
	"host.kvm.nested_next":             "the nested value at the next module load",
	"host.kvm.nested_next_from":        "where the next nested value comes from",
	"host.kvm.hpage_next":              "the hpage value at the next module load",
	"host.migration":                   "whether this host's VMs are live-migrated (not stated: --migrates yes|no, or in /etc/nestvirt/host.yaml)",
	"host.l0":                          "the OS of the L0 below this guest (not visible from here: state it with --l0-os, or in /etc/nestvirt/host.yaml)",
	"host.windows":                     "the Windows facts",
	"host.windows.present":             "whether this is Windows",
	"host.windows.build":               "the Windows build",
	"host.windows.ubr":                 "the Windows update revision (UBR)",
	"host.windows.server":              "whether this is Windows Server",
	"host.windows.hypervisor_running":  "whether Windows' own hypervisor runs",
	"host.windows.exposes":             "whether VT-x/AMD-V reaches this Windows",
	"host.windows.hyperv":              "the state of the Hyper-V feature (WMI)",
	"host.windows.vmp":                 "the state of the Virtual Machine Platform feature (WMI)",
	"host.windows.wsl":                 "the state of WSL",
	"host.windows.wsl.installed":       "whether WSL is installed",
	"host.windows.wsl.default_version": "WSL's default version",
	"host.windows.wsl.v1":              "which distributions run as WSL 1",
	"host.windows.wsl.v2":              "which distributions run as WSL 2",
	"host.windows.wsl.nested":          "whether WSL 2 nests (.wslconfig nestedVirtualization)",
	"host.l0.os":                       "the OS of the L0 below this guest (not visible from here: state it with --l0-os, or in /etc/nestvirt/host.yaml)",
	"l0.name":                          "the L0's name",
	"l0.os":                            "the L0's OS",
	"l0.arch":                          "the L0's architecture",
	"l0.cpu":                           "the L0's CPU vendor",
	"l0.module":                        "the L0's KVM module",
	"l0.nestable":                      "whether KVM nests on the L0's architecture",
	"l0.hypervisor":                    "what runs at the bottom of the chain",
	"l0.platform":                      "what manages the L0 (plain RHEL, OpenStack, RHV, OpenShift)",
	"l0.nested":                        "whether the L0 has nesting on",
	"l0.hugepages":                     "whether the L0 backs guests with huge pages",
	"l0.migration":                     "whether the L0's VMs are live-migrated",
	"l0.seen":                          "whether the L0 was seen",
}

// guestFacts name a guest's facts; %s is its level (L1, L2, L3).
var guestFacts = map[string]string{
	"present":     "whether there is an %s",
	"name":        "the %s's name",
	"os":          "the %s's OS",
	"runs":        "what the %s runs its guests with",
	"runs_stated": "whether what the %s runs was stated",
	"migrates":    "whether the %s is live-migrated (state it: --migrates, or in /etc/nestvirt/host.yaml)",
	"build":       "the %s's Windows build",
	"exposes":     "whether the %s sees the virtualization extension",
	"nested":      "whether the %s has nesting on",
	"hugepages":   "whether the %s backs its guests with huge pages",
	"pvm":         "whether the %s runs its guests by PVM",
}

// factName says one path in words; a path without a name is shown as it is.
func factName(p string) string {
	if n, ok := factNames[p]; ok {
		return n
	}
	level, field, ok := strings.Cut(p, ".")
	if ok && len(level) == 2 && level[0] == 'l' && level[1] >= '1' && level[1] <= '9' {
		if f, ok := guestFacts[field]; ok {
			return fmt.Sprintf(f, "L"+level[1:])
		}
	}
	return p
}

// FactNames says which facts (policy paths) are unknown, in words.
func FactNames(paths []string) string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		n := factName(p)
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return strings.Join(out, "; ")
}

// wrap writes text word-wrapped after a label, continuation lines indented.
// What others named in text is shown as Visible does; the label is nestvirt's.
func (s Style) wrap(w io.Writer, indent, label, text string) {
	s.wrapOwn(w, indent, label, Visible(text))
}

// wrapOwn is wrap for a text nestvirt composed itself (it may be painted).
func (s Style) wrapOwn(w io.Writer, indent, label, text string) {
	label, text = s.ascii(label), s.ascii(text)
	width := s.width() - len(indent)
	line, visible, empty := label, len(stripANSI(label)), true
	for _, word := range strings.Fields(text) {
		switch {
		case empty:
		case visible+1+len(word) > width:
			fmt.Fprintf(w, "%s%s\n", indent, line)
			line, visible = "  ", 2
		default:
			line += " "
			visible++
		}
		line += word
		visible += len(word)
		empty = false
	}
	fmt.Fprintf(w, "%s%s\n", indent, line)
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

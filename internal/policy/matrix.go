package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nestvirt/nestvirt/internal/facts"
)

type matrixResult struct {
	vars    facts.Matrix
	finding *Finding
}

// fit is how a chain fits a table row: it does, it does not, or it would if
// unknown facts are as the row needs.
type fit int

const (
	fitNo fit = iota
	fitMaybe
	fitYes
)

// rowFit is a row checked against a chain: the mismatches, and the row's terms
// that rest on unknown facts.
// The words are written only when asked for (explain): most rows of most chains
// are counted and dropped, and writing them was a third of plan's matrix time.
type rowFit struct {
	row          *Row
	nMiss, nIf   int
	miss, ifKnow []string
	explain      bool
}

func (f *rowFit) missed(msg func() string) {
	f.nMiss++
	if f.explain {
		f.miss = append(f.miss, msg())
	}
}

func (f *rowFit) ifKnown(msg func() string) {
	f.nIf++
	if f.explain {
		f.ifKnow = append(f.ifKnow, msg())
	}
}

func (f rowFit) fit() fit {
	switch {
	case f.nMiss > 0:
		return fitNo
	case f.nIf > 0:
		return fitMaybe
	}
	return fitYes
}

// matchMatrix judges the first three levels of a chain that reaches an L2 against
// the tables: the best row the chain fits places it; a row it fits only if unknown
// facts are as the row needs gives an undetermined placement; with neither, the
// nearest row explains what is outside the lists.
func (p *Policy) matchMatrix(c *Chain) matrixResult {
	if len(c.Guests) < 2 || len(p.Matrix) == 0 {
		return matrixResult{}
	}
	fits := make([]rowFit, len(p.Matrix))
	for i := range p.Matrix {
		fits[i] = p.Matrix[i].check(c, false)
	}
	for _, f := range fits {
		if f.fit() == fitYes {
			row := f.row
			fd := Finding{
				Rule: "matrix/" + row.ID, Level: row.Level, Unknown: []string{},
				Message: fmt.Sprintf("%s: listed in the %s %s table (%s).", describe(c), row.Book, tableName(row.Level), row.Level),
				Source:  p.Cite(row.Source),
			}
			return matrixResult{vars: facts.Matrix{Level: row.Level.String(), Row: row.ID, Book: row.Book}, finding: &fd}
		}
	}
	for _, f := range fits {
		if f.fit() == fitMaybe {
			row := f.row
			f = row.check(c, true)
			var unknown []string
			for _, u := range c.Unknown {
				unknown = append(unknown, u)
			}
			fd := Finding{
				Rule: "matrix/" + row.ID, Level: row.Level, Undetermined: true, Unknown: unknown,
				Message: fmt.Sprintf("%s: listed in the %s %s table (%s) only if %s.", describe(c), row.Book, tableName(row.Level), row.Level, strings.Join(f.ifKnow, ", and ")),
				Source:  p.Cite(row.Source),
				Remedy:  "State what cannot be read (see nestvirt check --help: /etc/nestvirt/host.yaml), or check it where it can be seen.",
			}
			return matrixResult{finding: &fd}
		}
	}
	nearest, nearestScore := fits[0], 0
	for i, f := range fits {
		// The nearest row is the one with fewest misses; a row built for another L1
		// hypervisor (WSL2 versus KVM) is farther than its miss count says.
		score := f.nMiss + f.nIf
		if !f.row.runsAny(c.Guests[0].Runs) {
			score++
		}
		if i == 0 || score < nearestScore {
			nearest, nearestScore = f, score
		}
	}
	nearest = nearest.row.check(c, true)
	fd := Finding{
		Rule: "matrix/unlisted", Level: Unsupported, Unknown: []string{},
		Message: fmt.Sprintf("%s: outside every listed environment. Nearest is the %s %s table. %s", describe(c), nearest.row.Book, tableName(nearest.row.Level), sentences(append(nearest.miss, nearest.ifKnow...))),
		Source:  p.Cite(nearest.row.Source),
		Remedy:  "Change the chain to one the tables list; see `nestvirt matrix`.",
	}
	return matrixResult{finding: &fd}
}

// sentences writes each miss as a sentence of its own: a miss lists values
// parted by semicolons, so misses cannot be.
func sentences(misses []string) string {
	out := make([]string, len(misses))
	for i, m := range misses {
		if m != "" {
			m = strings.ToUpper(m[:1]) + m[1:]
		}
		out[i] = m + "."
	}
	return strings.Join(out, " ")
}

func tableName(l Level) string {
	if l == Supported {
		return "supported-environments"
	}
	return "Technology Preview"
}

func describe(c *Chain) string {
	var b strings.Builder
	b.WriteString(c.L0.Name)
	b.WriteString(" (")
	b.WriteString(l0Label(c))
	b.WriteString(")")
	for i := 0; i < len(c.Guests) && i < 2; i++ {
		g := &c.Guests[i]
		b.WriteString(" → ")
		b.WriteString(g.Name)
		b.WriteString(" (")
		b.WriteString(guestLabel(c, i))
		b.WriteString(")")
	}
	return b.String()
}

// hypervisorNames writes the L0 hypervisors as vendors write them.
var hypervisorNames = map[string]string{"none": "no hypervisor", "kvm": "KVM", "qemu": "QEMU emulation (TCG, no KVM)", "esxi": "VMware ESXi", "hyper-v": "Microsoft Hyper-V", "aws": "AWS", "xen": "Xen", "cloud": "a public cloud's hypervisor", "other": "another hypervisor"}

// HypervisorName is how people write an L0 hypervisor of topology files.
func HypervisorName(h string) string {
	if n, ok := hypervisorNames[h]; ok {
		return n
	}
	return h
}

func l0Label(c *Chain) string {
	h := &c.L0
	var parts []string
	switch {
	case c.unknown("l0.os") && c.unknown("l0.hypervisor"):
		parts = append(parts, "unknown hypervisor and OS")
	case c.unknown("l0.os") && h.Hypervisor != "kvm":
		parts = append(parts, HypervisorName(h.Hypervisor)+", OS unknown")
	case c.unknown("l0.os"):
		parts = append(parts, "OS unknown")
	case h.OS.ID != "":
		parts = append(parts, h.OS.Name)
	default:
		parts = append(parts, HypervisorName(h.Hypervisor))
	}
	arch := h.Arch
	if h.CPU != "" {
		arch += " " + map[string]string{"intel": "Intel", "amd": "AMD"}[h.CPU]
	}
	return strings.Join(append(parts, arch), ", ")
}

func guestLabel(c *Chain, i int) string {
	g := &c.Guests[i]
	s := "OS unknown"
	if g.OS.ID != "" && !c.unknown(fmt.Sprintf("l%d.os", i+1)) {
		s = g.OS.Name
	}
	switch g.Runs {
	case "wsl2":
		s += " with WSL2"
	case "hyper-v":
		s += " with Hyper-V"
	case "kvm":
		s += " with KVM"
	}
	return s
}

func (r *Row) runsAny(runs string) bool {
	for _, g := range r.L1 {
		if g.Runs == runs {
			return true
		}
	}
	return false
}

// check fits a chain to the row, term by term; explain writes each term's words.
func (r *Row) check(c *Chain, explain bool) rowFit {
	f := rowFit{row: r, explain: explain}
	l1, l2 := &c.Guests[0], &c.Guests[1]
	hvs := func() string {
		var names []string
		for _, h := range r.L0.Hypervisor {
			names = append(names, HypervisorName(h))
		}
		return strings.Join(names, " or ")
	}
	wrongHV := false
	switch {
	case c.unknown("l0.hypervisor"):
		f.ifKnown(func() string { return fmt.Sprintf("the L0's hypervisor (not visible from here) must be %s", hvs()) })
	case !slices.Contains(r.L0.Hypervisor, c.L0.Hypervisor):
		f.missed(func() string {
			return fmt.Sprintf("the L0 must run %s, not %s", hvs(), HypervisorName(c.L0.Hypervisor))
		})
		wrongHV = true
	}
	switch {
	case wrongHV:
		// The hypervisor rules the row out; its OS says nothing more.
	case c.unknown("l0.os"):
		f.ifKnown(func() string {
			return fmt.Sprintf("the L0's OS (not visible from here) must be one of: %s", labels(r.L0.OS))
		})
	case !anyOS(r.L0.OS, c.L0.OS):
		f.missed(func() string { return fmt.Sprintf("L0 %s is not %s", osName(c.L0.OS), labels(r.L0.OS)) })
	}
	if !slices.Contains(r.L0.Arch, c.L0.Arch) {
		f.missed(func() string { return fmt.Sprintf("L0 arch %s is not %s", c.L0.Arch, strings.Join(r.L0.Arch, " or ")) })
	} else if c.L0.Arch == "x86_64" && len(r.L0.CPU) > 0 && !slices.Contains(r.L0.CPU, c.L0.CPU) {
		f.missed(func() string {
			return fmt.Sprintf("L0 CPU %s is not %s", orUnknownCPU(c.L0.CPU), strings.Join(r.L0.CPU, " or "))
		})
	}
	l1Miss := func() string { return fmt.Sprintf("L1 %s is not one of: %s", guestLabel(c, 0), guestLabels(r.L1)) }
	if c.unknown("l1.os") {
		if !r.runsAny(l1.Runs) {
			f.missed(l1Miss)
		} else {
			f.ifKnown(func() string { return fmt.Sprintf("the L1's OS (unknown) must be one of: %s", guestLabels(r.L1)) })
		}
	} else if !anyGuest(r.L1, l1, true) {
		f.missed(l1Miss)
	}
	switch {
	case c.unknown("l2.os"):
		f.ifKnown(func() string { return fmt.Sprintf("the L2's OS (unknown) must be one of: %s", guestLabels(r.L2)) })
	case !anyGuest(r.L2, l2, false):
		f.missed(func() string { return fmt.Sprintf("L2 %s is not one of: %s", osName(l2.OS), guestLabels(r.L2)) })
	}
	return f
}

func orUnknownCPU(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func osName(o facts.OS) string {
	if o.ID == "" {
		return "(OS not given)"
	}
	return o.Name
}

func anyOS(ms []OSMatcher, o facts.OS) bool {
	for _, m := range ms {
		if m.Match(o) {
			return true
		}
	}
	return false
}

func anyGuest(specs []GuestSpec, g *facts.Guest, isL1 bool) bool {
	for _, s := range specs {
		if s.OS.Match(g.OS) && (!isL1 || s.Runs == g.Runs) {
			return true
		}
	}
	return false
}

func labels(ms []OSMatcher) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Label()
	}
	return strings.Join(out, " or ")
}

// guestLabels lists the rows' guests; semicolons part them, since a label holds
// commas of its own ("Windows Server 2019 and later, before 2025").
func guestLabels(gs []GuestSpec) string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Label()
	}
	return strings.Join(out, "; ")
}

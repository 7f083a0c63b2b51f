package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/policy"
)

// MatrixText writes the policy's support matrix as the source's tables restored:
// one table per row, each column a list.
func MatrixText(w io.Writer, p *policy.Policy, s Style) error {
	fmt.Fprintf(w, "%s\n%s\n", s.paint(bold, p.Title), p.Document)
	for _, r := range p.Matrix {
		fmt.Fprintf(w, "\n%s  %s (%s table, row %s)\n", s.Level(r.Level), tableTitle(r.Level), r.Book, r.ID)
		var l0 []string
		for _, m := range r.L0.OS {
			l0 = append(l0, m.Label())
		}
		arch := archLabel(r.L0)
		l0 = append(l0, "on "+arch)
		if hv := strings.Join(r.L0.Hypervisor, ", "); hv != "kvm" {
			l0 = append(l0, "hypervisor: "+hv)
		}
		cols := [][]string{l0, guestCol(r.L1), guestCol(r.L2)}
		table(w, s, []string{"L0 host", "L1 VMs", "L2 VMs"}, cols)
		s.wrap(w, "  ", s.paint(dim, "source: "), p.Cite(r.Source))
		if r.ArchSource != r.Source {
			s.wrap(w, "  ", s.paint(dim, "arch: "), p.Cite(r.ArchSource))
		}
	}
	fmt.Fprintf(w, "\nAnything else is %s; limitations can make a listed chain worse (`nestvirt plan` applies them).\n", s.Level(policy.Unsupported))
	return nil
}

func tableTitle(l policy.Level) string {
	if l == policy.Supported {
		return "Supported environments"
	}
	return "Technology Preview environments"
}

func archLabel(l0 policy.L0Spec) string {
	var parts []string
	for _, a := range l0.Arch {
		switch {
		case a == "x86_64" && len(l0.CPU) > 0:
			var v []string
			for _, c := range l0.CPU {
				v = append(v, map[string]string{"intel": "Intel", "amd": "AMD"}[c])
			}
			parts = append(parts, strings.Join(v, " or ")+" (x86_64)")
		case a == "s390x":
			parts = append(parts, "IBM Z (s390x)")
		default:
			parts = append(parts, a)
		}
	}
	return strings.Join(parts, ", ")
}

func guestCol(gs []policy.GuestSpec) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Label()
	}
	return out
}

// table writes columns of lists side by side, with a header and rules.
func table(w io.Writer, s Style, head []string, cols [][]string) {
	widths := make([]int, len(cols))
	rows := 0
	for i, c := range cols {
		widths[i] = len(head[i])
		for _, v := range c {
			widths[i] = max(widths[i], len([]rune(v)))
		}
		rows = max(rows, len(c))
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("  │")
		for i, c := range cells {
			fmt.Fprintf(&b, " %s%s │", c, strings.Repeat(" ", widths[i]-len([]rune(stripANSI(c)))))
		}
		fmt.Fprintln(w, b.String())
	}
	sep := func(l, m, r string) {
		var b strings.Builder
		b.WriteString("  " + l)
		for i, wd := range widths {
			b.WriteString(strings.Repeat("─", wd+2))
			if i < len(widths)-1 {
				b.WriteString(m)
			}
		}
		fmt.Fprintln(w, b.String()+r)
	}
	sep("┌", "┬", "┐")
	hs := make([]string, len(head))
	for i, h := range head {
		hs[i] = s.paint(bold, h) + strings.Repeat(" ", 0)
	}
	line(hs)
	sep("├", "┼", "┤")
	for r := 0; r < rows; r++ {
		cells := make([]string, len(cols))
		for i, c := range cols {
			if r < len(c) {
				cells[i] = c[r]
			}
		}
		line(cells)
	}
	sep("└", "┴", "┘")
}

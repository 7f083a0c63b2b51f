package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// MatrixText writes the policy's support matrix as the source's tables restored:
// one table per row, each column a list.
func MatrixText(w io.Writer, p *policy.Policy, s Style) error {
	ew := errWriter(w)
	w = ew
	fmt.Fprintf(w, "%s\n%s\n", s.paint(bold, p.Title), s.text(p.Document))
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
		head := []string{"L0 host", "L1 VMs", "L2 VMs"}
		if s.Width > 0 && tableWidth(head, cols) > s.Width {
			// Too wide for the terminal: the columns one after the other.
			for i, c := range cols {
				fmt.Fprintf(w, "  %s\n", s.paint(bold, head[i]))
				for _, v := range c {
					s.wrap(w, "    ", "- ", v)
				}
			}
		} else {
			table(w, s, head, cols)
		}
		s.wrap(w, "  ", s.paint(dim, "source: "), p.Cite(r.Source))
		if r.ArchSource != r.Source {
			s.wrap(w, "  ", s.paint(dim, "arch: "), p.Cite(r.ArchSource))
		}
	}
	fmt.Fprintln(w)
	s.wrapOwn(w, "", "", "Anything else is "+s.Level(policy.Unsupported)+"; limitations can make a listed chain worse (`nestvirt plan` applies them).")
	return ew.Err
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

// tableWidth is how wide table would print.
func tableWidth(head []string, cols [][]string) int {
	n := 3
	for i, c := range cols {
		wd := len(head[i])
		for _, v := range c {
			wd = max(wd, len([]rune(v)))
		}
		n += wd + 3
	}
	return n
}

// MatrixJSON writes the policy's support matrix.
func MatrixJSON(w io.Writer, p *policy.Policy) error { return JSON(w, doc.NewMatrixDoc(p)) }

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
	bar, dash := "│", "─"
	corners := [3][3]string{{"┌", "┬", "┐"}, {"├", "┼", "┤"}, {"└", "┴", "┘"}}
	if s.ASCII {
		bar, dash = "|", "-"
		corners = [3][3]string{{"+", "+", "+"}, {"+", "+", "+"}, {"+", "+", "+"}}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("  " + bar)
		for i, c := range cells {
			fmt.Fprintf(&b, " %s%s %s", c, strings.Repeat(" ", widths[i]-len([]rune(stripANSI(c)))), bar)
		}
		fmt.Fprintln(w, b.String())
	}
	sep := func(c [3]string) {
		var b strings.Builder
		b.WriteString("  " + c[0])
		for i, wd := range widths {
			b.WriteString(strings.Repeat(dash, wd+2))
			if i < len(widths)-1 {
				b.WriteString(c[1])
			}
		}
		fmt.Fprintln(w, b.String()+c[2])
	}
	sep(corners[0])
	hs := make([]string, len(head))
	for i, h := range head {
		hs[i] = s.paint(bold, h) + strings.Repeat(" ", 0)
	}
	line(hs)
	sep(corners[1])
	for r := 0; r < rows; r++ {
		cells := make([]string, len(cols))
		for i, c := range cols {
			if r < len(c) {
				cells[i] = c[r]
			}
		}
		line(cells)
	}
	sep(corners[2])
}

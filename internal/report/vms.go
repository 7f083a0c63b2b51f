package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// VMsText writes the audit as a table, then each VM's findings that matter
// (with quiet, only the VMs whose verdict is unsupported or worse).
func VMsText(w io.Writer, a judge.Audit, s Style, quiet bool, cites *Cites) error {
	ew := errWriter(w)
	w = ew
	verdict := "nothing to judge"
	if a.Verdict != nil {
		verdict = s.Level(*a.Verdict)
	}
	fmt.Fprintf(w, "%s on %s: %s\n", s.paint(bold, "VMs"), Visible(a.URI), verdict)
	for _, n := range a.Notes {
		s.wrap(w, "  ", s.paint(dim, "note: "), n)
	}
	if len(a.VMs) == 0 {
		fmt.Fprintln(w, "\n  no domains")
		return ew.Err
	}
	rows := [][]string{{"NAME", "STATE", "ARCH", "CPU", "EXPOSES", "OS", "RUNS", "VERDICT"}}
	var shown []judge.VMResult
	for _, v := range a.VMs {
		if !quiet || v.Verdict > policy.TechPreview || v.Error != "" {
			shown = append(shown, v)
		}
	}
	a.VMs = shown
	for _, v := range a.VMs {
		exp := "unknown"
		if v.Exposes != nil {
			exp = yesNo(*v.Exposes)
		}
		osName := "unknown"
		if v.OS != nil {
			osName = *v.OS
		}
		if v.AgentOS != nil && (v.OS == nil || *v.AgentOS != *v.OS) {
			osName += " (agent: " + *v.AgentOS + ")"
		}
		runs := v.Runs
		if runs == "" {
			runs = "unknown"
		}
		if len(v.L2) > 0 {
			runs += " (" + strings.Join(v.L2, ",") + ")"
		}
		verdict := v.Verdict.String()
		if v.Error != "" {
			verdict = "error"
		}
		rows = append(rows, []string{Visible(v.Name), Visible(v.State), Visible(v.Arch), Visible(v.CPUMode), exp, Visible(osName), Visible(runs), verdict})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	fmt.Fprintln(w)
	for ri, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			cell := c + strings.Repeat(" ", widths[i]-len(c)+2)
			if ri == 0 {
				cell = s.paint(bold, cell)
			} else if i == len(r)-1 && c != "error" {
				cell = s.Level(a.VMs[ri-1].Verdict) + strings.Repeat(" ", widths[i]-len(c)+2)
			}
			b.WriteString(cell)
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	for _, v := range a.VMs {
		var fs []policy.Finding
		seen := map[string]bool{}
		worse := func(chains []policy.ChainResult) []policy.Finding {
			var out []policy.Finding
			for _, c := range chains {
				for _, f := range c.Findings {
					if key := f.Rule + "\x00" + f.Message; !f.Informational && f.Level > policy.TechPreview && !seen[key] {
						seen[key] = true
						out = append(out, f)
					}
				}
			}
			return out
		}
		fs = worse(v.Chains)
		// What the agent's report adds: the guest's own word, shown apart.
		byAgent := worse(v.AgentChains)
		if quiet {
			// -q: the findings that decide the VM's verdict, as in check and plan.
			fs, byAgent = Deciding(fs, v.Verdict), Deciding(byAgent, v.Verdict)
			if len(fs) == 0 && len(byAgent) == 0 && v.Error == "" {
				continue
			}
		}
		if len(fs) == 0 && len(byAgent) == 0 && v.Error == "" && v.AgentOS == nil && v.MetadataNote == "" {
			continue
		}
		fmt.Fprintf(w, "\n  %s  (%s)\n", s.paint(bold, Visible(v.Name)), s.text(v.Why))
		if len(v.Chains) > 0 {
			s.wrap(w, "    ", s.paint(dim, "chain: "), strings.Join(v.Chains[0].Path, s.Arrow()))
		}
		if v.OSNote != "" {
			s.wrap(w, "    ", s.paint(dim, "os: "), v.OSNote)
		}
		if v.MetadataNote != "" {
			s.wrap(w, "    ", s.paint(dim, "metadata: "), v.MetadataNote)
		}
		if v.Error != "" {
			s.wrap(w, "    ", s.paint(bold, "error: "), v.Error)
		}
		s.findings(w, fs, "    ", cites)
		if len(byAgent) > 0 {
			s.wrap(w, "    ", s.paint(dim, "by the guest agent's report ("+Visible(*v.AgentOS)+"): "), "")
			s.findings(w, byAgent, "    ", cites)
		}
	}
	return ew.Err
}

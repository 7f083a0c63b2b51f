package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/doc"
)

// RecordedText is what nestvirt recorded on the host in a sosreport, shown
// before the judgement made now from the report's files: the host's word
// about itself when the report was collected.
func RecordedText(w io.Writer, p *doc.RecordedPart, s Style) error {
	if p == nil {
		return nil
	}
	ew := errWriter(w)
	w = ew
	fmt.Fprintf(w, "%s (%s: nestvirt ran on the host when the report was collected)\n", s.paint(bold, "Recorded on the host"), s.text(p.Source))
	row := func(k string, v *string, none string) {
		t := none
		if v != nil {
			t = *v
		}
		fmt.Fprintf(w, "  %-10s %s\n", k, s.text(t))
	}
	row("nestvirt", p.Version, "not recorded")
	row("policy", p.Policy, "not recorded")
	row("checked", p.CheckedAt, "not recorded")
	verdict := "not recorded"
	if p.Verdict != nil {
		verdict = s.Level(*p.Verdict)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "verdict", verdict)
	var found []string
	for _, f := range p.Findings {
		if !f.Informational {
			found = append(found, f.Level.String()+" "+f.Rule)
		}
	}
	if len(found) > 0 {
		s.wrap(w, "  ", fmt.Sprintf("%-10s ", "findings"), strings.Join(found, "; "))
	}
	if len(p.VMs) > 0 {
		var vms []string
		for _, v := range p.VMs {
			vms = append(vms, v.Name+" "+v.Verdict.String())
		}
		s.wrap(w, "  ", fmt.Sprintf("%-10s ", "VMs"), strings.Join(vms, "; "))
	}
	row("guard", p.GuardStatus, "not recorded")
	for _, pr := range p.Problems {
		s.wrap(w, "  ", s.paint(dim, "not trusted: "), pr)
	}
	fmt.Fprintf(w, "%s\n\n", s.paint(dim, "Judged now from the report's files:"))
	return ew.Err
}

package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// PlanJSON writes a plan result: for one file {"verdict", "chains"}, for several
// {"verdict", "topologies": [{"file", "name", "verdict", "chains"}]}.
func PlanJSON(w io.Writer, r plan.Result) error {
	if len(r.Topologies) == 1 {
		t := r.Topologies[0]
		return JSON(w, struct {
			Verdict policy.Level         `json:"verdict"`
			Chains  []policy.ChainResult `json:"chains"`
		}{t.Verdict, t.Chains})
	}
	return JSON(w, r)
}

// PlanText writes a plan result for a person: per file, a table per chain.
func PlanText(w io.Writer, r plan.Result, s Style) error {
	for i, t := range r.Topologies {
		if i > 0 {
			fmt.Fprintln(w)
		}
		title := t.File
		if t.Name != "" {
			title += " (" + t.Name + ")"
		}
		fmt.Fprintf(w, "%s: %s\n", s.paint(bold, title), s.Level(t.Verdict))
		for _, c := range t.Chains {
			fmt.Fprintf(w, "\n  %s  %s\n", s.paint(bold, strings.Join(c.Path, " → ")), s.Level(c.Verdict))
			s.findings(w, c.Findings, "    ")
		}
	}
	if len(r.Topologies) > 1 {
		counts := map[policy.Level]int{}
		for _, t := range r.Topologies {
			counts[t.Verdict]++
		}
		var parts []string
		for _, l := range policy.Levels() {
			if counts[l] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[l], s.Level(l)))
			}
		}
		fmt.Fprintf(w, "\n%d files: %s; verdict %s\n", len(r.Topologies), strings.Join(parts, ", "), s.Level(r.Verdict))
	}
	return nil
}

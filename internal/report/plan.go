package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// A plan run is rendered in two steps so the work spreads over the CPUs: each
// topology is rendered to a chunk where it was judged (TopologyJSON, TopologyText),
// then the chunks are written in file order (WritePlanJSON, WritePlanText).

// TopologyJSON renders one topology result. For a run of one file (single) it is
// the whole document, {"verdict", "chains"}; otherwise an element of "topologies".
func TopologyJSON(t plan.TopologyResult, single bool) ([]byte, error) {
	if single {
		return appendSingle(make([]byte, 0, 4096), t), nil
	}
	return appendTopology(make([]byte, 0, 4096), t, "    "), nil
}

// WritePlanJSON writes the chunks of TopologyJSON as one document: the single
// topology's own, or {"verdict", "topologies": [...]} for several.
func WritePlanJSON(w io.Writer, verdict policy.Level, chunks [][]byte) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	if len(chunks) == 1 {
		bw.Write(chunks[0])
		bw.WriteByte('\n')
		return bw.Flush()
	}
	fmt.Fprintf(bw, "{\n  \"verdict\": %q,\n  \"topologies\": [", verdict)
	for i, c := range chunks {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(c)
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}

// TopologyText renders one topology for a person: a table per chain.
func TopologyText(t plan.TopologyResult, s Style) []byte {
	var b bytes.Buffer
	title := t.File
	if t.Name != "" {
		title += " (" + t.Name + ")"
	}
	fmt.Fprintf(&b, "%s: %s\n", s.paint(bold, title), s.Level(t.Verdict))
	for _, c := range t.Chains {
		fmt.Fprintf(&b, "\n  %s  %s\n", s.paint(bold, strings.Join(c.Path, " → ")), s.Level(c.Verdict))
		s.findings(&b, c.Findings, "    ")
	}
	return b.Bytes()
}

// WritePlanText writes the chunks of TopologyText, with a summary line when there
// are several files.
func WritePlanText(w io.Writer, verdicts []policy.Level, chunks [][]byte, s Style) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for i, c := range chunks {
		if i > 0 {
			bw.WriteByte('\n')
		}
		bw.Write(c)
	}
	if len(chunks) > 1 {
		counts := map[policy.Level]int{}
		worst := policy.Supported
		for _, v := range verdicts {
			counts[v]++
			worst = policy.Worst(worst, v)
		}
		var parts []string
		for _, l := range policy.Levels() {
			if counts[l] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[l], s.Level(l)))
			}
		}
		fmt.Fprintf(bw, "\n%d files: %s; verdict %s\n", len(chunks), strings.Join(parts, ", "), s.Level(worst))
	}
	return bw.Flush()
}

package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// A plan run is rendered in two steps so the work spreads over the CPUs: each
// topology is rendered to a chunk where it was judged (TopologyJSON, TopologyText),
// then the chunks are written in file order (WritePlanJSON, WritePlanText).

// TopologyJSON renders one topology result, an element of "topologies".
func TopologyJSON(t plan.TopologyResult) []byte {
	return appendTopology(make([]byte, 0, 4096), t, "    ")
}

// WritePlanJSON writes the chunks of TopologyJSON as one document: the worst
// verdict of the files judged (null when none was) and every file, whatever their
// number.
func WritePlanJSON(w io.Writer, schema string, verdict *policy.Level, chunks [][]byte, fail *DocError) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	v := "null"
	if verdict != nil {
		v = strconv.Quote(verdict.String())
	}
	fmt.Fprintf(bw, "{\n  \"schema\": %s,\n  \"verdict\": %s,\n  \"topologies\": [", strconv.Quote(schema), v)
	for i, c := range chunks {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(c)
	}
	if len(chunks) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("],\n  \"error\": ")
	if fail == nil {
		bw.WriteString("null")
	} else {
		b := appendKey([]byte("{\n"), "    ", "kind")
		b = append(appendString(b, fail.Kind), ",\n"...)
		b = appendKey(b, "    ", "message")
		b = append(appendString(b, fail.Message), "\n  }"...)
		bw.Write(b)
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// TopologyText renders one topology for a person: a table per chain. cites
// numbers the quoted sources across the run.
func TopologyText(t plan.TopologyResult, s Style, cites *Cites) []byte {
	var b bytes.Buffer
	title := t.File
	if t.Name != nil {
		title += " (" + *t.Name + ")"
	}
	if t.Error != nil {
		fmt.Fprintf(&b, "%s: %s (%s, on stderr)\n", s.paint(bold, title), s.paint(red, "not judged"), plural(len(t.Error.Problems), "problem", "problems"))
		return b.Bytes()
	}
	fmt.Fprintf(&b, "%s: %s\n", s.paint(bold, title), s.Level(*t.Verdict))
	for _, c := range t.Chains {
		fmt.Fprintf(&b, "\n  %s  %s\n", s.paint(bold, strings.Join(c.Path, s.Arrow())), s.Level(c.Verdict))
		s.findings(&b, c.Findings, "    ", cites)
	}
	return b.Bytes()
}

// WritePlanText writes the chunks of TopologyText, the sources they quote, and,
// with summary (a directory or several files), a line counting the verdicts.
func WritePlanText(w io.Writer, verdicts []*policy.Level, chunks [][]byte, s Style, cites *Cites, summary bool) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for i, c := range chunks {
		if i > 0 {
			bw.WriteByte('\n')
		}
		bw.Write(c)
	}
	s.WriteSources(bw, cites) // bw keeps the first write error; Flush returns it
	if summary {
		counts := map[policy.Level]int{}
		var worst *policy.Level
		bad := 0
		for _, v := range verdicts {
			if v == nil {
				bad++
				continue
			}
			counts[*v]++
			if worst == nil || *v > *worst {
				worst = v
			}
		}
		var parts []string
		for _, l := range policy.Levels() {
			if counts[l] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[l], s.Level(l)))
			}
		}
		if bad > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", bad, s.paint(red, "not judged")))
		}
		verdict := "none (no file could be judged)"
		if worst != nil {
			verdict = s.Level(*worst)
		}
		noun := "files"
		if len(chunks) == 1 {
			noun = "file"
		}
		fmt.Fprintf(bw, "\n%d %s: %s; verdict %s\n", len(chunks), noun, strings.Join(parts, ", "), verdict)
	}
	return bw.Flush()
}

// TopologyQuiet renders only what needs action: each chain whose verdict is
// unsupported or worse, with its findings of that kind, one line each.
func TopologyQuiet(t plan.TopologyResult, s Style) []byte {
	var b bytes.Buffer
	for _, c := range t.Chains {
		if c.Verdict <= policy.TechPreview {
			continue
		}
		fmt.Fprintf(&b, "%s: %s: %s\n", t.File, strings.Join(c.Path, s.Arrow()), s.Level(c.Verdict))
		for _, f := range c.Findings {
			if f.Informational || f.Undetermined || f.Level <= policy.TechPreview {
				continue
			}
			s.wrap(&b, "  ", s.Level(f.Level)+" "+f.Rule+": ", f.Message)
		}
	}
	return b.Bytes()
}

// WriteChunks writes rendered chunks one after the other.
func WriteChunks(w io.Writer, chunks [][]byte) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	for _, c := range chunks {
		bw.Write(c)
	}
	return bw.Flush()
}

// Schema ids of nestvirt's JSON documents (schema/ holds the schemas).
const (
	SchemaPlan   = "https://nestvirt.dev/schema/plan/v1"
	SchemaCheck  = "https://nestvirt.dev/schema/check/v1"
	SchemaVMs    = "https://nestvirt.dev/schema/vms/v1"
	SchemaMatrix = "https://nestvirt.dev/schema/matrix/v1"
)

// plural is "1 problem", "2 problems".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// A plan run streams: each topology is rendered where it was judged
// (AppendTopologyJSON, TopologyQuiet) or, for text, whose source numbers run
// across the output, in file order (PlanText); the document writers take them
// in file order and write them as they come.

// AppendTopologyJSON appends one topology result, an element of "topologies".
func AppendTopologyJSON(b []byte, t plan.TopologyResult) []byte {
	return appendTopology(b, t, "    ")
}

// TopologyJSON renders one topology result, an element of "topologies".
func TopologyJSON(t plan.TopologyResult) []byte {
	return AppendTopologyJSON(make([]byte, 0, 4096), t)
}

// PlanJSON writes a plan document whose topologies come one by one, in file
// order. The document names the worst verdict before its topologies, so they
// are held until it is known: at once when a file has the worst level there is,
// else at Close. What is held stays in memory up to holdInMemory, then goes to
// an unnamed temporary file: memory stays bounded whatever the run's size.
type PlanJSON struct {
	bw      *bufio.Writer
	schema  string
	worst   *policy.Level
	decided bool
	n       int
	held    []byte
	spill   *os.File
	hold    int // bytes held in memory before the temporary file
}

// holdInMemory is what a PlanJSON holds in memory before the verdict is known.
const holdInMemory = 32 << 20

// NewPlanJSON starts a plan document on w.
func NewPlanJSON(w io.Writer, schema string) *PlanJSON {
	return &PlanJSON{bw: bufio.NewWriterSize(w, 1<<20), schema: schema, hold: holdInMemory}
}

// Add writes the next topology, rendered by AppendTopologyJSON; verdict is its
// verdict, nil for a file not judged. topology is not kept.
func (d *PlanJSON) Add(verdict *policy.Level, topology []byte) error {
	if verdict != nil && (d.worst == nil || *verdict > *d.worst) {
		v := *verdict
		d.worst = &v
	}
	sep := ",\n    "
	if d.n == 0 {
		sep = "\n    "
	}
	d.n++
	if !d.decided && d.worst != nil && *d.worst == policy.Levels()[len(policy.Levels())-1] {
		if err := d.decide(); err != nil {
			return err
		}
	}
	if d.decided {
		d.bw.WriteString(sep)
		_, err := d.bw.Write(topology)
		return err
	}
	d.held = append(append(d.held, sep...), topology...)
	if len(d.held) >= d.hold {
		return d.spillHeld()
	}
	return nil
}

// spillHeld moves what is held to the temporary file.
func (d *PlanJSON) spillHeld() error {
	if d.spill == nil {
		f, err := os.CreateTemp("", "nestvirt-plan-*")
		if err != nil {
			return fmt.Errorf("holding the plan's topologies until its verdict is known: %w", err)
		}
		os.Remove(f.Name()) // unnamed: gone with the process, whatever happens
		d.spill = f
	}
	if _, err := d.spill.Write(d.held); err != nil {
		return fmt.Errorf("holding the plan's topologies until its verdict is known: %w", err)
	}
	d.held = d.held[:0]
	return nil
}

// decide writes the head with the verdict as it stands, then what was held.
func (d *PlanJSON) decide() error {
	d.decided = true
	v := "null"
	if d.worst != nil {
		v = strconv.Quote(d.worst.String())
	}
	fmt.Fprintf(d.bw, "{\n  \"schema\": %s,\n  \"verdict\": %s,\n  \"topologies\": [", strconv.Quote(d.schema), v)
	if d.spill != nil {
		defer d.spill.Close()
		if _, err := d.spill.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(d.bw, d.spill); err != nil {
			return err
		}
	}
	_, err := d.bw.Write(d.held)
	d.held = nil
	return err
}

// Close ends the document with its error member (fail, or null) and flushes it.
func (d *PlanJSON) Close(fail *doc.Error) error {
	if !d.decided {
		if err := d.decide(); err != nil {
			return err
		}
	}
	if d.n > 0 {
		d.bw.WriteString("\n  ")
	}
	d.bw.WriteString("],\n  \"error\": ")
	if fail == nil {
		d.bw.WriteString("null")
	} else {
		b := appendKey([]byte("{\n"), "    ", "kind")
		b = append(appendString(b, string(fail.Kind)), ",\n"...)
		b = appendKey(b, "    ", "message")
		b = append(appendString(b, fail.Message), "\n  }"...)
		d.bw.Write(b)
	}
	d.bw.WriteString("\n}\n")
	return d.bw.Flush()
}

// WritePlanJSON writes a plan document of no topology: a run that failed
// before judging any, with fail saying why.
func WritePlanJSON(w io.Writer, schema string, fail *doc.Error) error {
	return NewPlanJSON(w, schema).Close(fail)
}

// TopologyText renders one topology for a person: a table per chain. cites
// numbers the quoted sources across the run.
func TopologyText(t plan.TopologyResult, s Style, cites *Cites) []byte {
	var b bytes.Buffer
	title := Visible(t.File)
	if t.Name != nil {
		title += " (" + Visible(*t.Name) + ")"
	}
	if t.Error != nil {
		fmt.Fprintf(&b, "%s: %s (%s, on stderr)\n", s.paint(bold, title), s.paint(red, "not judged"), plural(len(t.Error.Problems), "problem", "problems"))
		return b.Bytes()
	}
	fmt.Fprintf(&b, "%s: %s\n", s.paint(bold, title), s.Level(*t.Verdict))
	for _, c := range t.Chains {
		fmt.Fprintf(&b, "\n  %s  %s\n", s.paint(bold, Visible(strings.Join(c.Path, s.Arrow()))), s.Level(c.Verdict))
		s.findings(&b, c.Findings, "    ", cites)
	}
	return b.Bytes()
}

// PlanText writes a plan for a person as its topologies come, in file order:
// each as TopologyText renders it, then the sources they quote, numbered in
// order of first use, and, with summary (a directory or several files), a line
// counting the verdicts.
type PlanText struct {
	bw      *bufio.Writer
	s       Style
	cites   *Cites
	summary bool
	n, bad  int
	counts  map[policy.Level]int
	worst   *policy.Level
}

// NewPlanText starts a plan for a person on w.
func NewPlanText(w io.Writer, s Style, summary bool) *PlanText {
	return &PlanText{bw: bufio.NewWriterSize(w, 1<<20), s: s, cites: NewCites(), summary: summary, counts: map[policy.Level]int{}}
}

// Add renders and writes the next topology.
func (d *PlanText) Add(t plan.TopologyResult) error {
	if d.n > 0 {
		d.bw.WriteByte('\n')
	}
	d.n++
	if v := t.Verdict; v == nil {
		d.bad++
	} else {
		d.counts[*v]++
		if d.worst == nil || *v > *d.worst {
			d.worst = v
		}
	}
	_, err := d.bw.Write(TopologyText(t, d.s, d.cites))
	return err
}

// Close writes the sources and the summary, and flushes.
func (d *PlanText) Close() error {
	s, bw := d.s, d.bw
	s.WriteSources(bw, d.cites) // bw keeps the first write error; Flush returns it
	if d.summary {
		var parts []string
		for _, l := range policy.Levels() {
			if d.counts[l] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", d.counts[l], s.Level(l)))
			}
		}
		if d.bad > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", d.bad, s.paint(red, "not judged")))
		}
		verdict := "none (no file could be judged)"
		if d.worst != nil {
			verdict = s.Level(*d.worst)
		}
		noun := "files"
		if d.n == 1 {
			noun = "file"
		}
		fmt.Fprintf(bw, "\n%d %s: %s; verdict %s\n", d.n, noun, strings.Join(parts, ", "), verdict)
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
		fmt.Fprintf(&b, "%s: %s: %s\n", Visible(t.File), Visible(strings.Join(c.Path, s.Arrow())), s.Level(c.Verdict))
		for _, f := range Deciding(c.Findings, c.Verdict) {
			s.wrap(&b, "  ", s.Level(f.Level)+" "+f.Rule+": ", f.Message)
		}
	}
	return b.Bytes()
}

// plural is "1 problem", "2 problems".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

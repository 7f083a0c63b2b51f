package report

import (
	"bufio"
	"io"
	"sync"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// PlanRun says how a plan run is rendered: its format ("json" or "text"),
// quiet (the verdict and the findings that decide it), the style, and whether
// a summary closes a text run (more than one file, or a directory).
type PlanRun struct {
	Format  string
	Quiet   bool
	Style   Style
	Summary bool
}

// Plan judges files on plan's workers (plan.Each) and writes each to w as it
// is judged, in file order: JSON and quiet lines rendered by the worker into a
// pooled buffer, text in order (its source numbers run across the output). It
// gives each file's verdict (nil when it could not be judged) and each file's
// input error; err is the output's.
func Plan(w io.Writer, p *policy.Policy, files []string, stdin io.Reader, o PlanRun) (verdicts []*policy.Level, bad []error, err error) {
	verdicts, bad = make([]*policy.Level, len(files)), make([]error, len(files))
	type judged struct {
		t   plan.TopologyResult
		buf *[]byte
	}
	work := func(i int, t plan.TopologyResult, ierr *plan.InputError) judged {
		verdicts[i] = t.Verdict
		if ierr != nil {
			bad[i] = ierr
		}
		switch {
		case o.Format == "json":
			b := chunkPool.Get().(*[]byte)
			*b = AppendTopologyJSON((*b)[:0], t)
			return judged{t: plan.TopologyResult{Verdict: t.Verdict}, buf: b}
		case o.Quiet:
			b := chunkPool.Get().(*[]byte)
			*b = append((*b)[:0], TopologyQuiet(t, o.Style)...)
			return judged{t: plan.TopologyResult{Verdict: t.Verdict}, buf: b}
		}
		return judged{t: t}
	}
	switch {
	case o.Format == "json":
		document := NewPlanJSON(w, doc.SchemaPlan)
		if err := plan.Each(p, files, stdin, work, func(i int, j judged) error {
			defer chunkPool.Put(j.buf)
			return document.Add(j.t.Verdict, *j.buf)
		}); err != nil {
			return verdicts, bad, err
		}
		return verdicts, bad, document.Close(nil)
	case o.Quiet:
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := plan.Each(p, files, stdin, work, func(i int, j judged) error {
			defer chunkPool.Put(j.buf)
			_, err := bw.Write(*j.buf)
			return err
		}); err != nil {
			return verdicts, bad, err
		}
		return verdicts, bad, bw.Flush()
	}
	document := NewPlanText(w, o.Style, o.Summary)
	if err := plan.Each(p, files, stdin, work, func(i int, j judged) error {
		return document.Add(j.t)
	}); err != nil {
		return verdicts, bad, err
	}
	return verdicts, bad, document.Close()
}

// chunkPool holds the buffers workers render into; a buffer goes back once
// its bytes are written.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

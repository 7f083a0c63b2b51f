package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report"
)

type planOptions struct {
	verdictFlags
	recursive bool
}

func (a *app) planCmd() *cobra.Command {
	o := planOptions{}
	cmd := &cobra.Command{
		Use:   "plan FILE|DIR|- ...",
		Short: "Judge planned deployments (topology files) chain by chain",
		Long: `Judge planned deployments against the policy, chain by chain.

A chain is a path from the host to a guest with no guests. Each finding gives its
level, its reason, the sentence of the source it comes from, and a remedy where one
exists. A directory means its *.yaml, *.yml and *.json files (--recursive: and those
of its subdirectories); - reads stdin. Every file is judged; one that cannot be read
or is not a valid topology is reported with each problem's line, and the run exits
2 at the end.`,
		Example: "  nestvirt plan examples/wsl2-supported.yaml\n  nestvirt plan --format json --fail-on tech-preview examples/\n  nestvirt plan - < lab.yaml",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return inputErrorf("plan needs a topology file, a directory, or - to read one from stdin (nestvirt plan - < lab.yaml)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(func() error { return a.runPlan(o, args) })(cmd, args)
		},
	}
	cmd.ValidArgsFunction = completeFiles("yaml", "yml", "json")
	o.verdictFlags.add(cmd, formatHelp)
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "r", false, "read the topology files of subdirectories too")
	return cmd
}

func (a *app) runPlan(o planOptions, args []string) error {
	style, p, err := a.start(o.verdictFlags)
	if err != nil {
		return err
	}
	files, skipped, err := plan.Files(args, o.recursive)
	if err != nil {
		err = inputError{Err: err}
		if forPrograms(o.format) {
			// The document all the same, with the failure inside.
			if werr := a.writeTo(o.output, func(w io.Writer) error {
				return report.WritePlanJSON(w, doc.SchemaPlan, docError(err))
			}); werr != nil {
				return werr
			}
		}
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(a.stderr, "nestvirt: note: skipped %s\n", s)
	}
	plan.TuneMemory(len(files))
	verdicts := make([]*policy.Level, len(files))
	bad := make([]error, len(files))
	summary := len(files) > 1 || isDir(args)
	err = a.writeTo(o.output, func(w io.Writer) error {
		// work runs on plan's workers, emit in file order: JSON and quiet lines
		// are rendered by the worker into a buffer of a pool; text is rendered in
		// order, as its source numbers run across the output.
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
			case o.format == "json":
				b := chunkPool.Get().(*[]byte)
				*b = report.AppendTopologyJSON((*b)[:0], t)
				return judged{t: plan.TopologyResult{Verdict: t.Verdict}, buf: b}
			case o.quiet:
				b := chunkPool.Get().(*[]byte)
				*b = append((*b)[:0], report.TopologyQuiet(t, style)...)
				return judged{t: plan.TopologyResult{Verdict: t.Verdict}, buf: b}
			}
			return judged{t: t}
		}
		switch {
		case o.format == "json":
			document := report.NewPlanJSON(w, doc.SchemaPlan)
			if err := plan.Each(p, files, a.stdin, work, func(i int, j judged) error {
				defer chunkPool.Put(j.buf)
				return document.Add(j.t.Verdict, *j.buf)
			}); err != nil {
				return err
			}
			return document.Close(nil)
		case o.quiet:
			bw := bufio.NewWriterSize(w, 1<<20)
			if err := plan.Each(p, files, a.stdin, work, func(i int, j judged) error {
				defer chunkPool.Put(j.buf)
				_, err := bw.Write(*j.buf)
				return err
			}); err != nil {
				return err
			}
			return bw.Flush()
		}
		document := report.NewPlanText(w, style, summary)
		if err := plan.Each(p, files, a.stdin, work, func(i int, j judged) error {
			return document.Add(j.t)
		}); err != nil {
			return err
		}
		return document.Close()
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range bad {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		if len(files) > 1 {
			errs = append(errs, fmt.Errorf("%d of %d files could not be judged; the others were", len(errs), len(files)))
		}
		return inputError{Err: errors.Join(errs...)}
	}
	return failOn(*plan.Worst(verdicts), o.failOn)
}

// chunkPool holds the buffers workers render into; a buffer goes back once
// its bytes are written.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func isDir(args []string) bool {
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

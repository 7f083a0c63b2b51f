package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/topology"
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
	files, skipped, err := topology.Expand(args, o.recursive)
	if err != nil {
		err = inputError{err}
		if machine(o.format) {
			// The document all the same, with the failure inside.
			if werr := a.writeTo(o.output, func(w io.Writer) error {
				return report.WritePlanJSON(w, report.SchemaPlan, nil, nil, docError(err))
			}); werr != nil {
				return werr
			}
		}
		return err
	}
	for _, s := range skipped {
		fmt.Fprintf(a.stderr, "nestvirt: note: skipped %s\n", s)
	}
	// A large batch allocates far more than it keeps (the YAML syntax trees): let the
	// heap grow to 4x the live data between collections. Measured in
	// docs/PERFORMANCE.md; an explicit GOGC wins.
	if len(files) > 100 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	// Render each topology where it is judged; keep only the bytes (see plan.Each).
	chunks := make([][]byte, len(files))
	verdicts := make([]*policy.Level, len(files))
	bad := make([]error, len(files))
	cites := report.NewCites()
	plan.Each(p, files, a.stdin, func(i int, t plan.TopologyResult, ierr *plan.InputError) {
		verdicts[i] = t.Verdict
		if ierr != nil {
			bad[i] = ierr
		}
		switch {
		case o.format == "json":
			chunks[i] = report.TopologyJSON(t)
		case o.quiet:
			chunks[i] = report.TopologyQuiet(t, style)
		default:
			chunks[i] = report.TopologyText(t, style, cites)
		}
	})
	var worst *policy.Level
	var errs []error
	for i, v := range verdicts {
		if bad[i] != nil {
			errs = append(errs, bad[i])
		}
		if v != nil && (worst == nil || *v > *worst) {
			worst = v
		}
	}
	summary := len(files) > 1 || isDir(args)
	err = a.writeTo(o.output, func(w io.Writer) error {
		switch {
		case o.format == "json":
			return report.WritePlanJSON(w, report.SchemaPlan, worst, chunks, nil)
		case o.quiet:
			return report.WriteChunks(w, chunks)
		}
		return report.WritePlanText(w, verdicts, chunks, style, cites, summary)
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		if len(files) > 1 {
			errs = append(errs, fmt.Errorf("%d of %d files could not be judged; the others were", len(errs), len(files)))
		}
		return inputError{errors.Join(errs...)}
	}
	return failOn(*worst, o.failOn)
}

func isDir(args []string) bool {
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

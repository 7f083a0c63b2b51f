package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report"
)

type planOptions struct {
	clioptions.Verdict
	recursive bool
}

func (a *app) planCmd() *cobra.Command {
	o := planOptions{}
	cmd := &cobra.Command{
		Use:     "plan FILE|DIR|- ...",
		Short:   "Judge planned deployments (topology files) chain by chain",
		Long:    manual.Long("plan"),
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
	cmd.ValidArgsFunction = clioptions.CompleteFiles("yaml", "yml", "json")
	o.Verdict.Add(cmd, clioptions.FormatHelp)
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "r", false, "read the topology files of subdirectories too")
	return cmd
}

func (a *app) runPlan(o planOptions, args []string) error {
	style, p, err := a.start(o.Verdict)
	if err != nil {
		return err
	}
	files, skipped, err := plan.Files(args, o.recursive)
	if err != nil {
		err = inputError{Err: err}
		if clioptions.ForPrograms(o.Format) {
			// The document all the same, with the failure inside.
			if werr := a.writeTo(o.Output, func(w io.Writer) error {
				return report.WritePlanJSON(w, doc.SchemaPlan, doc.ErrorOf(err))
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
	var verdicts []*policy.Level
	var bad []error
	err = a.writeTo(o.Output, func(w io.Writer) error {
		var err error
		verdicts, bad, err = report.Plan(w, p, files, a.stdin, report.PlanRun{Format: o.Format, Quiet: o.Quiet, Style: style, Summary: len(files) > 1 || plan.AnyDir(args)})
		return err
	})
	if err != nil {
		return err
	}
	if err := plan.Unjudged(bad); err != nil {
		return err
	}
	return failOn(*plan.Worst(verdicts), o.FailOn)
}

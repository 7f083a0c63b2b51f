package cli

import (
	"errors"
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
}

func (a *app) planCmd() *cobra.Command {
	o := planOptions{}
	cmd := &cobra.Command{
		Use:   "plan FILE|DIR|- ...",
		Short: "Judge planned deployments (topology files) chain by chain",
		Long: `Judge planned deployments against the policy, chain by chain.

A chain is a path from the host to a guest with no guests. Each finding gives its
level, its reason, the sentence of the source it comes from, and a remedy where one
exists. A directory means its *.yaml, *.yml and *.json files; - reads stdin.`,
		Example: "  nestvirt plan examples/wsl2-supported.yaml\n  nestvirt plan --format json --fail-on tech-preview examples/",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPlan(o, args)
		},
	}
	o.verdictFlags.add(cmd)
	return cmd
}

func (a *app) runPlan(o planOptions, args []string) error {
	style, p, err := a.start(o.verdictFlags)
	if err != nil {
		return err
	}
	files, err := topology.Expand(args)
	if err != nil {
		return inputError{err}
	}
	// A large batch allocates far more than it keeps (the YAML syntax trees): let the
	// heap grow to 4x the live data between collections. Measured in
	// docs/PERFORMANCE.md; an explicit GOGC wins.
	if len(files) > 100 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	// Render each topology where it is judged; keep only the bytes (see plan.Each).
	chunks := make([][]byte, len(files))
	verdicts := make([]policy.Level, len(files))
	renderErrs := make([]error, len(files))
	single := len(files) == 1
	verdict, err := plan.Each(p, files, a.stdin, func(i int, t plan.TopologyResult) {
		verdicts[i] = t.Verdict
		if o.format == "json" {
			chunks[i], renderErrs[i] = report.TopologyJSON(t, single)
		} else {
			chunks[i] = report.TopologyText(t, style)
		}
	})
	if err != nil {
		return inputError{err}
	}
	if err := errors.Join(renderErrs...); err != nil {
		return err
	}
	if o.format == "json" {
		err = report.WritePlanJSON(a.stdout, verdict, chunks)
	} else {
		err = report.WritePlanText(a.stdout, verdicts, chunks, style)
	}
	if err != nil {
		return err
	}
	return failOn(verdict, o.failOn)
}

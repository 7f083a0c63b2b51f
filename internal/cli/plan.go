package cli

import (
	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/topology"
)

type planOptions struct {
	format string
	failOn string
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
	cmd.Flags().StringVar(&o.format, "format", "text", formatHelp)
	cmd.Flags().StringVar(&o.failOn, "fail-on", "unsupported", "exit 1 when the verdict is at or past this level")
	return cmd
}

func (a *app) runPlan(o planOptions, args []string) error {
	if err := checkFormat(o.format, "text", "json"); err != nil {
		return err
	}
	if err := validateFailOn(o.failOn); err != nil {
		return err
	}
	style, err := a.style()
	if err != nil {
		return err
	}
	p, err := a.policy()
	if err != nil {
		return err
	}
	files, err := topology.Expand(args)
	if err != nil {
		return inputError{err}
	}
	res, err := plan.JudgeFiles(p, files, a.stdin)
	if err != nil {
		return inputError{err}
	}
	if o.format == "json" {
		err = report.PlanJSON(a.stdout, res)
	} else {
		err = report.PlanText(a.stdout, res, style)
	}
	if err != nil {
		return err
	}
	return failOn(res.Verdict, o.failOn)
}

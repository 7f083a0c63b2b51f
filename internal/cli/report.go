package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/buildinfo"
	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/fleet"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report/fleetpage"
)

func (a *app) reportCmd() *cobra.Command {
	var output, format string
	var staleAfter time.Duration
	cmd := &cobra.Command{
		Use:     "report FILE|DIR... [-o report.html]",
		Short:   "One HTML page of a fleet, from the JSON documents of check, vms and plan",
		Long:    manual.Long("report"),
		Example: "  ansible-playbook -i inventory examples/ansible/gather.yml\n  nestvirt report nestvirt-reports/ -o fleet.html",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return inputErrorf("give the JSON documents (files or directories) to report on")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(func() error {
				if err := clioptions.ReportFormat.Check(format); err != nil {
					return err
				}
				if staleAfter <= 0 {
					return inputErrorf("--stale-after %s: give a duration above zero (24h, 7d is 168h)", staleAfter)
				}
				f, err := fleet.Load(args)
				if err != nil {
					return inputError{Err: err}
				}
				p, err := a.policy()
				if err != nil {
					return err
				}
				for _, s := range f.Skipped {
					fmt.Fprintf(a.stderr, "nestvirt: note: skipped %s: %s\n", s.File, s.Why)
				}
				err = a.writeTo(output, func(w io.Writer) error {
					if format == "csv" {
						return fleetpage.CSV(w, f)
					}
					return fleetpage.HTML(w, f, p.Name, buildinfo.Version, a.clock(), staleAfter)
				})
				if err == nil && output != "" {
					fmt.Fprintf(a.stderr, "wrote %s: %d hosts (%d documents joined a host's row), %d planned topologies, %d files skipped\n", output, len(f.Hosts), f.Merged, len(f.Topologies), len(f.Skipped))
				}
				return err
			})(cmd, args)
		},
	}
	cmd.ValidArgsFunction = clioptions.CompleteFiles("json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the page to this file (atomically) instead of stdout")
	cmd.Flags().StringVar(&format, "format", "html", "html (the page) or csv (a row per host)")
	cmd.Flags().DurationVar(&staleAfter, "stale-after", 24*time.Hour, "mark a host whose facts are older than this as stale")
	clioptions.ReportFormat.Complete(cmd)
	return cmd
}

package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/fleet"
	"github.com/nestvirt/nestvirt/internal/report"
)

func (a *app) reportCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "report FILE|DIR... [-o report.html]",
		Short: "One HTML page of a fleet, from the JSON documents of check, vms and plan",
		Long: `Read the JSON documents nestvirt wrote across a fleet (check, vms, plan; a directory
is read recursively for .json files) and write one self-contained HTML page: hosts
per verdict, a sortable and filterable table of hosts (position, nesting, verdict,
worst finding), the findings grouped by rule with their source and remedy and the
hosts they hit, each host's VMs, the planned topologies. It needs no network (its
style and script are inline), reads without its script, and prints.

Files that are not valid nestvirt documents are listed as skipped.`,
		Example: "  ansible-playbook -i inventory examples/ansible/gather.yml\n  nestvirt report nestvirt-reports/ -o fleet.html",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return inputErrorf("give the JSON documents (files or directories) to report on")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(func() error {
				f, err := fleet.Load(args)
				if err != nil {
					return inputError{err}
				}
				p, err := a.policy()
				if err != nil {
					return err
				}
				for _, s := range f.Skipped {
					fmt.Fprintf(a.stderr, "nestvirt: note: skipped %s: %s\n", s.File, s.Why)
				}
				err = a.writeTo(output, func(w io.Writer) error {
					return report.FleetHTML(w, f, p.Name, Version, a.clock())
				})
				if err == nil && output != "" {
					fmt.Fprintf(a.stderr, "wrote %s: %d hosts, %d planned topologies, %d files skipped\n", output, len(f.Hosts), len(f.Topologies), len(f.Skipped))
				}
				return err
			})(cmd, args)
		},
	}
	cmd.ValidArgsFunction = completeFiles("json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the page to this file (atomically) instead of stdout")
	return cmd
}

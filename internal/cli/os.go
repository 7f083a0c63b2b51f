package cli

import (
	"cmp"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/osid"
)

// osCmd, like policyCmd, is a group of subcommands declared as cobra literals:
// the same shape, kept so that each command reads whole where it is declared.
func (a *app) osCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "os",
		Short: "The operating system names nestvirt knows (topology files, --l2, --os, --l0-os)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the OS names nestvirt knows, with family and version (libosinfo short ids, from the system's osinfo-db too)",
		Args:  noArgs,
		RunE: run(func() error {
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tFAMILY\tVERSION\tKIND\tFROM")
			for _, o := range osid.Known() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, o.Family, cmp.Or(o.Version, "-"), o.Kind, o.From)
			}
			return tw.Flush()
		}),
	})
	return cmd
}

package cli

import (
	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/report"
)

func (a *app) osCmd() *cobra.Command {
	return group("os", "The operating system names nestvirt knows (topology files, --l2, --os, --l0-os)", &cobra.Command{
		Use:   "list",
		Short: "List the OS names nestvirt knows, with family and version (libosinfo short ids, from the system's osinfo-db too)",
		Args:  noArgs,
		RunE:  run(func() error { return report.OSTable(a.stdout, plan.KnownOS()) }),
	})
}

// group is a command that only holds subcommands (nestvirt os, nestvirt policy).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.AddCommand(subs...)
	return cmd
}

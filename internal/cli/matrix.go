package cli

import (
	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/report"
)

func (a *app) matrixCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Print the support matrix of the loaded policy as tables",
		Long: `Print the policy's support tables as the source meant them: each column a list (the
flattened page lost its empty cells), so any L1 of a table may carry any L2 of that
table. On a terminal too narrow for a table, its columns are printed one after the
other.`,
		Args: cobra.NoArgs,
		RunE: run(func() error {
			if err := checkFormat(format, "text", "json"); err != nil {
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
			if format == "json" {
				return report.MatrixJSON(a.stdout, p, report.SchemaMatrix)
			}
			return report.MatrixText(a.stdout, p, style)
		}),
	}
	cmd.Flags().StringVar(&format, "format", "text", formatHelp)
	return cmd
}

package cli

import (
	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/report"
)

func (a *app) matrixCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "matrix",
		Short: "Print the support matrix of the loaded policy as tables",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			style, err := a.style()
			if err != nil {
				return err
			}
			p, err := a.policy()
			if err != nil {
				return err
			}
			return report.MatrixText(a.stdout, p, style)
		},
	}
}

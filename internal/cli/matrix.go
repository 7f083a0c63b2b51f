package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/report"
)

func (a *app) matrixCmd() *cobra.Command {
	var o verdictFlags
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Print the support matrix of the loaded policy as tables",
		Long: `Print the policy's support tables as the source meant them: each column a list (the
flattened page lost its empty cells), so any L1 of a table may carry any L2 of that
table. On a terminal too narrow for a table, its columns are printed one after the
other.`,
		Args: noArgs,
		RunE: run(func() error {
			if err := (choice{"format", o.formats}).check(o.format); err != nil {
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
			return a.writeTo(o.output, func(w io.Writer) error {
				if o.format == "json" {
					return report.MatrixJSON(w, p)
				}
				return report.MatrixText(w, p, style)
			})
		}),
	}
	o.addFormat(cmd, formatHelp)
	return cmd
}

package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report"
)

func (a *app) matrixCmd() *cobra.Command {
	var o verdictFlags
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Print the support matrix of the loaded policy as tables",
		Long:  manual.Long("matrix"),
		Args:  noArgs,
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

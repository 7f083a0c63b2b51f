package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report"
)

func (a *app) matrixCmd() *cobra.Command {
	var o clioptions.Verdict
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Print the support matrix of the loaded policy as tables",
		Long:  manual.Long("matrix"),
		Args:  noArgs,
		RunE: run(func() error {
			if err := (clioptions.Choice{Flag: "format", Values: o.Formats}).Check(o.Format); err != nil {
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
			return a.writeTo(o.Output, func(w io.Writer) error {
				if o.Format == "json" {
					return report.MatrixJSON(w, p)
				}
				return report.MatrixText(w, p, style)
			})
		}),
	}
	o.AddFormat(cmd, clioptions.FormatHelp)
	return cmd
}

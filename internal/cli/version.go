package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/buildinfo"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nestvirt's version, commit, build date, Go version and the policy it judges with",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.policy()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s\npolicy %s: %s\n", buildinfo.Line(), p.Name, p.Title)
			return nil
		},
	}
}

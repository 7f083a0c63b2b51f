package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/buildinfo"
	"github.com/nestvirt/nestvirt/internal/policy"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nestvirt's version, commit, build date, Go version and the policy it judges with",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, title := policy.DefaultHead()
			if a.policyFile != "" {
				p, err := a.policy()
				if err != nil {
					return err
				}
				name, title = p.Name, p.Title
			}
			fmt.Fprintf(a.stdout, "%s\npolicy %s: %s\n", buildinfo.Line(), name, title)
			return nil
		},
	}
}

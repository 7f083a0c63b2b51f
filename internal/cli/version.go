package cli

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func joinErrs(errs []error) error { return errors.Join(errs...) }

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nestvirt's version and the policy it judges with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.policy()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "nestvirt %s (%s, %s/%s)\npolicy %s: %s\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, p.Name, p.Title)
			return nil
		},
	}
}

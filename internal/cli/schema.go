package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/schema"
)

func (a *app) schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "schema [check|plan|vms|matrix]",
		Short:             "Print the JSON Schema of a JSON document nestvirt writes",
		Long:              manual.Long("schema"),
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: clioptions.CompleteOne(schema.Names),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(func() error {
				if len(args) == 0 {
					for _, n := range schema.Names() {
						fmt.Fprintf(a.stdout, "%-8s https://nestvirt.dev/schema/%s/v1\n", n, n)
					}
					return nil
				}
				b, err := schema.Bundle(args[0])
				if err != nil {
					return inputError{Err: err}
				}
				_, err = fmt.Fprintf(a.stdout, "%s\n", b)
				return err
			})(cmd, args)
		},
	}
}

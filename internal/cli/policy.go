package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/policy"
)

func (a *app) policyCmd() *cobra.Command {
	return group("policy", "Validate and show policy files (the rules as data)", &cobra.Command{
		Use:               "lint [FILE ...]",
		Short:             "Validate policy files, reporting every problem with its path; no FILE lints the embedded ones",
		ValidArgsFunction: clioptions.CompleteFiles("yaml", "yml"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runLint(args)
		},
	}, &cobra.Command{
		Use:               "show [NAME]",
		Short:             "Print an embedded policy file, to copy and adapt (default " + policy.DefaultName + ")",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: clioptions.CompleteOne(policy.EmbeddedNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := policy.DefaultName
			if len(args) == 1 {
				name = args[0]
			}
			data, err := policy.EmbeddedText(name)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(data)
			return err
		},
	})
}

func (a *app) runLint(files []string) error {
	type loaded struct {
		name string
		p    *policy.Policy
		err  error
	}
	var all []loaded
	if len(files) == 0 {
		for _, n := range policy.EmbeddedNames() {
			p, err := policy.Embedded(n)
			all = append(all, loaded{"policies/" + n, p, err})
		}
	}
	for _, f := range files {
		p, err := policy.LoadFile(f)
		all = append(all, loaded{f, p, err})
	}
	var bad []error
	for _, l := range all {
		if l.err != nil {
			bad = append(bad, l.err)
			continue
		}
		fmt.Fprintf(a.stdout, "%s: ok (%s: %d matrix rows, %d rules, %d sources)\n", l.name, l.p.Name, len(l.p.Matrix), len(l.p.Rules), len(l.p.Sources))
	}
	if len(bad) > 0 {
		return inputError{Err: errors.Join(bad...)}
	}
	return nil
}

package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/ansible"
	"github.com/nestvirt/nestvirt/internal/manual"
)

func (a *app) factsCmd() *cobra.Command {
	var factPath, binary, root string
	cmd := &cobra.Command{
		Use:   "facts",
		Short: "Install nestvirt as an Ansible local fact (ansible_local.nestvirt)",
		Long:  manual.Long("facts"),
	}
	install := &cobra.Command{
		Use:   "install",
		Short: "Write nestvirt.fact into the fact directory (replacing only nestvirt's own)",
		Args:  noArgs,
		RunE: run(func() error {
			path, bin, changed, err := ansible.Install(factPath, binary, root)
			if err != nil {
				return err
			}
			if !changed {
				// Said apart, so a playbook can report "ok" rather than "changed".
				fmt.Fprintf(a.stdout, "unchanged: %s already runs %s\n", path, bin)
				return nil
			}
			fmt.Fprintf(a.stdout, "installed %s, running %s; gather facts to see ansible_local.nestvirt\n", path, bin)
			return nil
		}),
	}
	install.Flags().StringVar(&binary, "binary", "", "the nestvirt the fact runs (default: this one; "+ansible.SuggestedBinary+" for a package)")
	install.Flags().StringVar(&root, "root", "/", "judge this snapshot tree instead of the host (for tests)")
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove nestvirt.fact (only nestvirt's own)",
		Args:  noArgs,
		RunE: run(func() error {
			path, removed, err := ansible.Uninstall(factPath)
			if err != nil {
				return err
			}
			if removed {
				fmt.Fprintf(a.stdout, "removed %s\n", path)
			} else {
				fmt.Fprintf(a.stdout, "no nestvirt fact at %s: nothing to remove\n", path)
			}
			return nil
		}),
	}
	cmd.PersistentFlags().StringVar(&factPath, "fact-path", ansible.DefaultFactPath, "Ansible's local fact directory (the setup module's fact_path)")
	cmd.AddCommand(install, uninstall)
	return cmd
}

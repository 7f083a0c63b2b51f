package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report"
)

// hookProbeTime bounds the one run of the binary install and status make.
const hookProbeTime = 5 * time.Second

type guardOptions struct {
	dryRun     bool
	mode       string
	failClosed bool
	root       string
	hooksDir   string
	binary     string
}

func (a *app) guardCmd() *cobra.Command {
	o := guardOptions{}
	cmd := &cobra.Command{
		Use:   "guard",
		Short: "A libvirt QEMU hook that stops what the rules say does not work",
		Long:  manual.Long("guard"),
	}
	install := &cobra.Command{
		Use:   "install",
		Short: "Install the hook",
		Args:  noArgs,
		RunE:  run(func() error { return a.guardInstall(o) }),
	}
	install.Flags().StringVar(&o.mode, "mode", guard.Enforce, "enforce (refuse what does not work) or warn (log it, never block)")
	install.Flags().BoolVar(&o.failClosed, "fail-closed", false, "refuse when the guard cannot judge (nestvirt missing, broken, slow, facts unreadable)")
	install.Flags().StringVar(&o.root, "root", "/", "the hook reads this host's facts from this snapshot tree (for tests and demonstrations)")
	install.Flags().StringVar(&o.binary, "binary", "", "the nestvirt the hook runs (default: this one; "+guard.SuggestedBinary+" for a package)")
	install.Flags().BoolVar(&o.dryRun, "dry-run", false, "make every check install makes (running the binary once) and print the hook's diff; change nothing")
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the hook (and leftovers of an interrupted install)",
		Args:  noArgs,
		RunE: run(func() error {
			if o.dryRun {
				return a.guardUninstallPreview(o)
			}
			path, removed, err := guard.Uninstall(o.hooksDir)
			if err == nil {
				report.GuardUninstalled(a.stdout, path, removed)
			}
			return guardErr(err)
		}),
	}
	uninstall.Flags().BoolVar(&o.dryRun, "dry-run", false, "print what would be removed (the hook's diff to nothing, leftovers); change nothing")
	status := &cobra.Command{
		Use:   "status",
		Short: "Check the installed hook (binary, policy, libvirt's view) and what it would decide on this host",
		Args:  noArgs,
		RunE:  run(func() error { return a.guardStatus(o) }),
	}
	status.Flags().StringVar(&o.root, "root", "/", "judge with this snapshot tree's facts")
	hook := &cobra.Command{
		Use:    "hook -- DOMAIN OPERATION SUB-OPERATION EXTRA",
		Short:  "Run as libvirt's QEMU hook: the domain XML on stdin, exit 0 to allow",
		Hidden: true,
		Args:   cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.guardHook(o, args)
		},
	}
	hook.Flags().StringVar(&o.mode, "mode", guard.Enforce, "enforce or warn")
	hook.Flags().BoolVar(&o.failClosed, "fail-closed", false, "refuse when the guard cannot judge")
	hook.Flags().StringVar(&o.root, "root", "/", "read this host's facts from this snapshot tree")
	cmd.PersistentFlags().StringVar(&o.hooksDir, "hooks-dir", "/etc/libvirt/hooks", "libvirt's hook directory")
	cmd.AddCommand(install, uninstall, status, hook)
	return cmd
}

func (a *app) guardInstall(o guardOptions) error {
	if err := clioptions.Mode.Check(o.mode); err != nil {
		return err
	}
	load := func() error { _, err := a.policy(); return err }
	cfg, err := guard.NewConfig(o.binary, o.mode, o.failClosed, a.policyFile, load, o.root, hookProbeTime)
	if err != nil {
		return err
	}
	if o.dryRun {
		path, prev, next, err := guard.Preview(o.hooksDir, cfg)
		if err != nil {
			return guardErr(err)
		}
		return report.GuardPreview(a.stdout, path, prev, next, cfg)
	}
	path, err := guard.Install(o.hooksDir, cfg)
	if err == nil {
		report.GuardInstalled(a.stdout, path, cfg)
	}
	return guardErr(err)
}

// guardUninstallPreview is uninstall --dry-run: the hook's text removed, the
// leftovers, or the refusal uninstall would give.
func (a *app) guardUninstallPreview(o guardOptions) error {
	path, prev, left, err := guard.PreviewUninstall(o.hooksDir)
	if err != nil {
		return guardErr(err)
	}
	return report.GuardUninstallPreview(a.stdout, path, prev, left)
}

// guardErr classifies the guard's errors: a hook that is not nestvirt's, or a
// binary that cannot be trusted to stay, is a refusal.
func guardErr(err error) error {
	if errors.Is(err, guard.ErrNotOurs) || errors.Is(err, guard.ErrUntrusted) {
		return refusedError{Err: err}
	}
	return err
}

// guardHook is what libvirt runs. It never writes to stdout: for a migration,
// libvirt would read it as a replacement domain XML. It decides within
// DecisionBudget, or fails open (closed with --fail-closed).
func (a *app) guardHook(o guardOptions, args []string) error {
	in := guard.Input{Domain: args[0], Op: args[1], SubOp: args[2], Mode: o.mode, FailClosed: o.failClosed}
	if err := clioptions.Mode.Check(o.mode); err != nil {
		return err
	}
	d := guard.Hook(guard.Call{Input: in, Stdin: a.stdin, Root: o.root, PolicyFile: a.policyFile, Load: a.policy, Facts: inspect.HostFacts})
	d.Record(a.stderr)
	if !d.Allow {
		return thresholdError{d.Log}
	}
	return nil
}

func (a *app) guardStatus(o guardOptions) error {
	pol := ""
	if a.policyFile != "" {
		pol = mustAbs(a.policyFile)
	}
	st, err := guard.CheckStatus(guard.StatusOptions{
		HooksDir: o.hooksDir, Policy: pol, Load: a.policy, Root: o.root,
		Facts: inspect.HostFacts, Started: libvirt.StartedHere, ProbeTime: hookProbeTime,
	})
	if err != nil {
		return err
	}
	report.GuardStatus(a.stdout, st)
	if len(st.Problems) > 0 {
		return dependencyError{Err: fmt.Errorf("%w: %d problems (above)", guard.ErrBroken, len(st.Problems))}
	}
	return nil
}

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

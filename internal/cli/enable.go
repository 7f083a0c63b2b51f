package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/hostconf"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/report"
)

type enableOptions struct {
	root             string
	connect          connectFlags
	now              bool
	dryRun           bool
	disableHugepages bool
}

func (a *app) enableCmd(enable bool) *cobra.Command {
	o := enableOptions{}
	verb := "enable"
	short := "Turn nesting on in this host's KVM module: modprobe.d, and now when no VM runs"
	if !enable {
		verb = "disable"
		short = "Turn nesting off in this host's KVM module (the remedy check gives AMD hosts that migrate VMs)"
	}
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Long: short + `.

The module is the one this machine uses (kvm_intel, kvm_amd, or kvm on IBM Z); no
option is ever written for another. The setting is persisted in modprobe.d: the line
that sets it now is edited in place (its other options, comments and the file's
other lines kept), else /etc/modprobe.d/kvm.conf is written as the RHEL procedure
does; lines elsewhere that set it too are reported. Every write is atomic and made
only if the file is still what was read (a concurrent change is planned again, not
lost); the file before nestvirt first changed it is kept as *.nestvirt-orig and the
one before the latest change as *.nestvirt-bak, with their owner and mode. The
module is reloaded now only when no VM runs (libvirt is asked, and the module's use
count read); otherwise the setting applies at the next reload or boot, and --now
refuses.`,
		Args: noArgs,
		RunE: run(func() error { return a.runEnable(o, enable) }),
	}
	cmd.Flags().StringVar(&o.root, "root", "/", "act on this snapshot tree instead of / (module loading is simulated in the tree)")
	o.connect.add(cmd, a)
	cmd.Flags().BoolVar(&o.now, "now", false, "apply now or not at all: refuse, listing the running VMs, when the module cannot be reloaded")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the file diffs (patch -p1 -d / applies them) and the commands, change nothing")
	if enable {
		cmd.Flags().BoolVar(&o.disableHugepages, "disable-hugepages", false, "IBM Z: also set hpage=0, deliberately (huge pages and nesting exclude each other)")
	}
	return cmd
}

func (a *app) runEnable(o enableOptions, enable bool) error {
	// A host.yaml that is not valid never blocks the remedy check gives.
	facts, note, err := inspect.RemedyFacts(o.root)
	if note != "" {
		fmt.Fprintf(a.stderr, "nestvirt: note: %s\n", note)
	}
	if err != nil {
		return err
	}
	req := hostconf.Request{Enable: enable, DisableHugepages: o.disableHugepages, Now: o.now}
	out, err := hostconf.Change(o.root, facts, req, o.dryRun, func() ([]string, error) { return runningVMs(o.connect) })
	plan := out.Plan
	for _, w := range plan.Warnings {
		fmt.Fprintf(a.stderr, "nestvirt: warning: %s\n", w)
	}
	for _, c := range plan.Conflicts {
		fmt.Fprintf(a.stderr, "nestvirt: note: also set in %s\n", c)
	}
	for _, n := range plan.Notes {
		fmt.Fprintf(a.stderr, "nestvirt: note: %s\n", n)
	}
	for _, w := range out.Written {
		if w.Created {
			fmt.Fprintf(a.stdout, "created %s (it did not exist, so there is no previous version)\n", w.Path)
		} else {
			fmt.Fprintf(a.stdout, "wrote %s (previous version: %s; before nestvirt first changed it: %s)\n", w.Path, w.Backup, w.Orig)
		}
	}
	if err != nil {
		return err
	}
	if o.dryRun {
		for _, c := range plan.Changes {
			if err := report.Diff(a.stdout, c.Path, c.Old, c.New, c.Created); err != nil {
				return err
			}
		}
		for _, c := range plan.Commands {
			fmt.Fprintf(a.stdout, "# then: %s\n", c)
		}
		if len(plan.Changes) == 0 && len(plan.Commands) == 0 {
			fmt.Fprintln(a.stdout, "# nothing to change")
		}
		return nil
	}
	state := "off"
	if enable {
		state = "on"
	}
	switch {
	case plan.Reload:
		fmt.Fprintf(a.stdout, "reloaded %s: nesting is %s now\n", plan.Module, state)
	case plan.Live && len(out.Written) == 0:
		fmt.Fprintf(a.stdout, "nesting is already %s in %s, now and at the next load: nothing to change\n", state, plan.Module)
	case plan.Live:
		fmt.Fprintf(a.stdout, "nesting is %s in %s now, and will stay %s at the next load\n", state, plan.Module, state)
	default:
		fmt.Fprintf(a.stdout, "nesting will be %s in %s at its next reload or boot\n", state, plan.Module)
	}
	return nil
}

// runningVMs asks libvirt which domains run; without libvirt the module's use
// count still protects them.
func runningVMs(c connectFlags) ([]string, error) {
	conn, err := c.connect(true)
	if err != nil {
		return nil, fmt.Errorf("libvirt is not reachable: %w", err)
	}
	defer conn.Close()
	ds, err := conn.Domains()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		if d.Active {
			out = append(out, d.Name)
		}
	}
	return out, nil
}

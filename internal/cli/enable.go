package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/hostconf"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report"
)

type enableOptions struct {
	root             string
	connect          clioptions.Connect
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
		Long:  short + ".\n\n" + manual.Long("enable"),
		Args:  noArgs,
		RunE:  run(func() error { return a.runEnable(o, enable) }),
	}
	cmd.Flags().StringVar(&o.root, "root", "/", "act on this snapshot tree instead of / (module loading is simulated in the tree)")
	o.connect.Add(cmd, a.dialer())
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
	return report.HostChange(a.stdout, a.stderr, out, enable, o.dryRun, err)
}

// runningVMs asks libvirt which domains run; without libvirt the module's use
// count still protects them.
func runningVMs(c clioptions.Connect) ([]string, error) {
	conn, err := c.Open(true)
	if err != nil {
		return nil, fmt.Errorf("libvirt is not reachable: %w", err)
	}
	defer conn.Close()
	return libvirt.Running(conn)
}

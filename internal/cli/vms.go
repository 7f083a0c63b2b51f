package cli

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/audit"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report"
)

// connectFlags say which libvirt daemon to ask and how long to wait.
type connectFlags struct {
	dial    func(libvirt.Options) (daemon, error)
	uri     string
	timeout time.Duration
	// agent: ask running domains' guest agents which OS they run (vms).
	agent bool
}

func (c *connectFlags) add(cmd *cobra.Command, a *app) {
	c.dial = a.dialer()
	cmd.Flags().StringVarP(&c.uri, "connect", "c", libvirt.DefaultURI, "libvirt URI, as virsh -c (qemu:///system, test:///default, qemu+tcp://host/system)")
	cmd.Flags().DurationVar(&c.timeout, "timeout", libvirt.DefaultTimeout, "give up on a libvirt call that takes longer than this")
}

// addAgent adds --guest-agent, for the commands that audit VMs.
func (c *connectFlags) addAgent(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.agent, "guest-agent", false, "also ask the QEMU guest agent of each running domain which OS it runs, on a read-write connection (libvirt refuses it read-only); its answer can make a verdict worse, never better")
}

// connect opens the daemon; a daemon that cannot be reached is a failed
// dependency, a URI that is not one is bad input.
func (c connectFlags) connect(readOnly bool) (daemon, error) {
	return c.dial(libvirt.Options{URI: c.uri, ReadOnly: readOnly, Timeout: c.timeout})
}

type vmsOptions struct {
	connect    connectFlags
	stated     statedFlags
	hostConfig string
	source     inspect.Source // Root or Sos
	verdictFlags
}

func (a *app) vmsCmd() *cobra.Command {
	o := vmsOptions{}
	cmd := &cobra.Command{
		Use:   "vms",
		Short: "Judge every VM of a libvirt host: does it expose virtualization, which OS, what it runs",
		Long:  manual.Long("vms"),
		Args:  noArgs,
		RunE:  run(func() error { return a.runVMs(o) }),
	}
	o.connect.add(cmd, a)
	o.connect.addAgent(cmd)
	cmd.Flags().StringVar(&o.source.Root, "root", "/", "read the host's facts from this snapshot instead of /")
	cmd.Flags().StringVar(&o.source.Sos, "sos", "", "judge the domains a sosreport holds (its directory or archive), with that host's facts; no libvirt is asked")
	cmd.Flags().StringVar(&o.hostConfig, "host-config", "", "with -c another host: that host's host.yaml, for what nestvirt cannot read of it (this machine's is never used for another host)")
	o.stated.add(cmd)
	o.verdictFlags.add(cmd, formatHelp)
	return cmd
}

func (a *app) runVMs(o vmsOptions) error {
	style, err := a.startStyle(o.verdictFlags)
	style.FlagsOnly = o.source.Sos != ""
	if err != nil {
		return err
	}
	m, res, runErr := a.vmsOf(o)
	if forPrograms(o.format) || res != nil {
		// The document, whatever failed: with the failure inside.
		err := a.writeTo(o.output, func(w io.Writer) error {
			if forPrograms(o.format) {
				return report.WriteJSON(w, audit.VMsDocument(m, o.source, res, docError(runErr)))
			}
			return report.MachineText(w, m.Recorded.Part(), nil, res, style, o.quiet)
		})
		if err != nil {
			return err
		}
	}
	if runErr != nil || res.Verdict == nil {
		return runErr
	}
	return failOn(*res.Verdict, o.failOn)
}

// vmsOf judges the VMs vms names: a sosreport's domains with the same report's
// host facts (no libvirt is asked), or a daemon's (audit.Run) with the facts of
// its host. The audit is nil when nothing was judged.
func (a *app) vmsOf(o vmsOptions) (inspect.Machine, *judge.Audit, error) {
	if err := o.stated.check(); err != nil {
		return inspect.Named(o.source, a.clock()), nil, err
	}
	if o.source.Sos != "" {
		m, err := inspect.Read(o.source, o.stated.Statements, a.clock())
		if err != nil {
			return m, nil, err
		}
		p, err := a.policy()
		if err != nil {
			return m, nil, err
		}
		res := audit.Sosreport(p, m)
		return m, &res, nil
	}
	m := inspect.Named(o.source, a.clock())
	remote, err := inspect.RemoteStated(o.hostConfig, o.stated.Statements)
	if err != nil {
		return m, nil, err
	}
	r, err := a.audit(o.connect, audit.Options{Local: inspect.Reader(&m, o.source, o.stated.Statements, a.clock()), Root: o.source.Root, Stated: remote})
	m.Facts = r.Host
	if r.Audit.URI == "" {
		return m, nil, err
	}
	return m, &r.Audit, err
}

// audit judges the VMs of the daemon c names (audit.Run), with o saying whose
// facts: Local reads this machine's (or --root's), and is called only when the
// daemon is this machine's own or --root stands for its host; Stated is what
// was stated for another daemon's host.
func (a *app) audit(c connectFlags, o audit.Options) (audit.Result, error) {
	p, err := a.policy()
	if err != nil {
		return audit.Result{}, err
	}
	o.Dial = func(o libvirt.Options) (audit.Daemon, error) { return c.dial(o) }
	o.URI, o.Timeout, o.Agents = c.uri, c.timeout, c.agent
	r, err := audit.Run(p, o)
	return r, err
}

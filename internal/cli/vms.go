package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/audit"
	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report"
)

type vmsOptions struct {
	connect    clioptions.Connect
	stated     clioptions.Stated
	hostConfig string
	source     inspect.Source // Root or Sos
	clioptions.Verdict
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
	o.connect.Add(cmd, a.dialer())
	o.connect.AddAgent(cmd)
	cmd.Flags().StringVar(&o.source.Root, "root", "/", "read the host's facts from this snapshot instead of /")
	cmd.Flags().StringVar(&o.source.Sos, "sos", "", "judge the domains a sosreport holds (its directory or archive), with that host's facts; no libvirt is asked")
	cmd.Flags().StringVar(&o.hostConfig, "host-config", "", "with -c another host: that host's host.yaml, for what nestvirt cannot read of it (this machine's is never used for another host)")
	o.stated.Add(cmd)
	o.Verdict.Add(cmd, clioptions.FormatHelp)
	return cmd
}

func (a *app) runVMs(o vmsOptions) error {
	style, err := a.startStyle(o.Verdict)
	style.FlagsOnly = o.source.Sos != ""
	if err != nil {
		return err
	}
	m, res, runErr := a.vmsOf(o)
	if clioptions.ForPrograms(o.Format) || res != nil {
		// The document, whatever failed: with the failure inside.
		err := a.writeTo(o.Output, func(w io.Writer) error {
			if clioptions.ForPrograms(o.Format) {
				return report.WriteJSON(w, audit.VMsDocument(m, o.source, res, doc.ErrorOf(runErr)))
			}
			return report.MachineText(w, m.Recorded.Part(), nil, res, style, o.Quiet)
		})
		if err != nil {
			return err
		}
	}
	if runErr != nil || res.Verdict == nil {
		return runErr
	}
	return failOn(*res.Verdict, o.FailOn)
}

// vmsOf judges the VMs vms names: a sosreport's domains with the same report's
// host facts (no libvirt is asked), or a daemon's (audit.Run) with the facts of
// its host. The audit is nil when nothing was judged.
func (a *app) vmsOf(o vmsOptions) (inspect.Machine, *judge.Audit, error) {
	if err := o.stated.Check(); err != nil {
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
	p, err := a.policy()
	if err != nil {
		return m, nil, err
	}
	r, err := audit.Run(p, o.connect.Audit(audit.Options{Local: inspect.Reader(&m, o.source, o.stated.Statements, a.clock()), Root: o.source.Root, Stated: remote}))
	m.Facts = r.Host
	if r.Audit.URI == "" {
		return m, nil, err
	}
	return m, &r.Audit, err
}

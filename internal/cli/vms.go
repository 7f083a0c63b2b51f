package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/sos"
)

// connectFlags say which libvirt daemon to ask and how long to wait.
type connectFlags struct {
	uri     string
	timeout time.Duration
	// agent: ask running domains' guest agents which OS they run (vms).
	agent bool
}

func (c *connectFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&c.uri, "connect", "c", libvirt.DefaultURI, "libvirt URI, as virsh -c (qemu:///system, test:///default, qemu+tcp://host/system)")
	cmd.Flags().DurationVar(&c.timeout, "timeout", libvirt.DefaultTimeout, "give up on a libvirt call that takes longer than this")
}

// addAgent adds --guest-agent, for the commands that audit VMs.
func (c *connectFlags) addAgent(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.agent, "guest-agent", true, "ask the QEMU guest agent of each running domain which OS it runs (needs a read-write connection)")
}

// connect opens the daemon; a daemon that cannot be reached is a failed
// dependency, a URI that is not one is bad input.
func (c connectFlags) connect(readOnly bool) (daemon, error) {
	conn, err := dial(libvirt.Options{URI: c.uri, ReadOnly: readOnly, Timeout: c.timeout})
	return conn, libvirtErr(err)
}

// askAgents asks the guest agents of the running domains on a read-write
// connection of its own (libvirt refuses virDomainGetGuestInfo on a read-only
// one): one agent that hangs closes that connection, not the audit's. It says
// why none was asked, or "".
func (c connectFlags) askAgents(recs []domxml.Record) string {
	if !c.agent || !slices.ContainsFunc(recs, func(r domxml.Record) bool { return r.Err == nil && r.State == "running" }) {
		return ""
	}
	rw, err := dial(libvirt.Options{URI: c.uri, Timeout: c.timeout})
	if err != nil {
		return fmt.Sprintf("the guest agents were not asked (the OS of each VM is the declared one): a read-write connection, which libvirt needs for them, failed: %v", err)
	}
	defer rw.Close()
	rw.AskAgents(recs, workers())
	return ""
}

// libvirtErr classifies an error from the libvirt package.
func libvirtErr(err error) error {
	var ce *libvirt.ConnectError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && ce.Unknown, errors.Is(err, libvirt.ErrNoDomain):
		return inputError{err}
	case errors.Is(err, libvirt.ErrTransient), errors.Is(err, libvirt.ErrConcurrent):
		return refusedError{err}
	}
	return dependencyError{err}
}

type vmsOptions struct {
	connect connectFlags
	stated  statedFlags
	root    string
	sos     string
	verdictFlags
}

func (a *app) vmsCmd() *cobra.Command {
	o := vmsOptions{}
	cmd := &cobra.Command{
		Use:   "vms",
		Short: "Judge every VM of a libvirt host: does it expose virtualization, which OS, what it runs",
		Long: `Judge every domain of a libvirt host, running or only defined: its state, arch,
CPU mode and whether hardware virtualization reaches it (host-passthrough and
maximum: when this host has it; host-model: from the host's domain capabilities;
custom: from the vmx/svm/sie feature policy), its OS, huge-page backing, what it
runs inside ('nestvirt annotate'), and each chain's verdict.

The OS is what the QEMU guest agent of a running domain reports (the Windows
build itself: a VM declared win2k22 that runs Windows Server 2019 is judged as
2019), else what the domain declares (libosinfo metadata, or 'nestvirt annotate
--os'); the OS column marks the agent's answers with "(agent)". libvirt answers
guest-agent questions only on a read-write connection; --guest-agent=false keeps
to the read-only one.

Each chain starts where this host stands (see nestvirt check): on bare metal the
host is the L0 and its VMs are L1s; on a guest the L0 below is not visible, the
host is an L1 and its VMs are L2s. Read-only: the daemon's read-only socket is used
where there is one.`,
		Args: noArgs,
		RunE: run(func() error { return a.runVMs(o) }),
	}
	o.connect.add(cmd)
	o.connect.addAgent(cmd)
	cmd.Flags().StringVar(&o.root, "root", "/", "read the host's facts from this snapshot instead of /")
	cmd.Flags().StringVar(&o.sos, "sos", "", "judge the domains a sosreport holds (its directory or archive), with that host's facts; no libvirt is asked")
	o.stated.add(cmd)
	o.verdictFlags.add(cmd, formatHelp)
	return cmd
}

// audit reads every domain and judges it from the host's position.
func (a *app) audit(c connectFlags, facts probe.Facts) (judge.Audit, error) {
	p, err := a.policy()
	if err != nil {
		return judge.Audit{}, err
	}
	conn, err := c.connect(true)
	if err != nil {
		return judge.Audit{}, err
	}
	defer conn.Close()
	records, err := conn.ReadAll(workers())
	if err != nil {
		return judge.Audit{}, libvirtErr(err)
	}
	agentNote := c.askAgents(records)
	res := judge.VMs(p, facts, records, conn.HostModel())
	if agentNote != "" {
		res.Notes = append(res.Notes, agentNote)
	}
	uri, local := conn.Where()
	res.URI = uri
	if !local {
		res.Notes = append(res.Notes, "the host facts are this machine's (or --root's), not the remote host's: take 'nestvirt snapshot' there and pass it with --root")
	}
	return res, nil
}

// auditSos judges the domains a sosreport holds, with the host facts of the same
// report: no libvirt is asked.
func (a *app) auditSos(o vmsOptions) (probe.Facts, *judge.Audit, error) {
	if o.root != "/" {
		return probe.Facts{}, nil, inputErrorf("--root and --sos: give one of them")
	}
	rep, err := sos.Open(o.sos)
	if err != nil {
		return probe.Facts{}, nil, inputErrorf("--sos %s: %v", o.sos, err)
	}
	root := probe.OpenReport(rep)
	facts, err := probe.ProbeRoot(root)
	var se *probe.StatedError
	if errors.As(err, &se) {
		return facts, nil, inputErrorf("%v", se)
	}
	if err := o.stated.apply(&facts); err != nil {
		return facts, nil, err
	}
	p, err := a.policy()
	if err != nil {
		return facts, nil, err
	}
	var hostModel func(arch, feature string) (bool, error)
	if caps := rep.DomainCapabilities(); caps != "" {
		hostModel = func(_, feature string) (bool, error) { return domxml.HostModelRequires(caps, feature) }
	}
	res := judge.VMs(p, facts, rep.Domains(), hostModel)
	res.URI = "sosreport " + rep.Real("")
	return facts, &res, nil
}

func (a *app) runVMs(o vmsOptions) error {
	style, err := a.startStyle(o.verdictFlags)
	if err != nil {
		return err
	}
	var res *judge.Audit
	var facts probe.Facts
	var runErr error
	if o.sos != "" {
		facts, res, runErr = a.auditSos(o)
	} else {
		facts, runErr = hostFacts(o.root, o.stated)
		if runErr == nil {
			var r judge.Audit
			if r, runErr = a.audit(o.connect, facts); runErr == nil {
				res = &r
			}
		}
	}
	switch {
	case machine(o.format):
		// The document, whatever failed: with the failure inside.
		var host *probe.Facts
		if facts.Arch != nil || facts.Hostname != nil {
			host = &facts
		}
		doc := report.NewVMsDoc(res, host, docError(runErr))
		if err := a.writeTo(o.output, func(w io.Writer) error { return report.WriteJSON(w, doc) }); err != nil {
			return err
		}
	case res != nil:
		err := a.writeTo(o.output, func(w io.Writer) error {
			cites := report.NewCites()
			err := report.VMsText(w, *res, style, o.quiet, cites)
			if err == nil && !o.quiet {
				style.WriteSources(w, cites)
			}
			return err
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

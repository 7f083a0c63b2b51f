package cli

import (
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/audit"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
	"github.com/nestvirt/nestvirt/internal/recorded"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/sos"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
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
	conn, err := c.dial(libvirt.Options{URI: c.uri, ReadOnly: readOnly, Timeout: c.timeout})
	return conn, libvirtErr(err)
}

// libvirtErr classifies an error from the libvirt package.
func libvirtErr(err error) error {
	var ce *libvirt.ConnectError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && ce.Unknown, errors.Is(err, libvirt.ErrNoDomain):
		return inputError{err}
	case errors.Is(err, libvirt.ErrTransient):
		return refusedError{err}
	case errors.Is(err, libvirt.ErrConcurrent):
		// Someone else kept changing the domain, or changed it under nestvirt's
		// definition: a failure of the conditions the edit needs, not a rule.
		return dependencyError{err}
	}
	return dependencyError{err}
}

type vmsOptions struct {
	connect    connectFlags
	stated     statedFlags
	hostConfig string
	root       string
	sos        string
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

The OS is what the domain declares (libosinfo metadata, or 'nestvirt annotate
--os'). With --guest-agent, the QEMU guest agent of each running domain is asked
too, on a read-write connection of its own (libvirt answers guest-agent
questions only there): the chains are judged again with the OS it reports, and
that counts only when it is worse (a VM declared win2k22 that runs Windows
Server 2019 cannot run WSL 2). The guest controls what its agent says, so it
can never make a verdict better; the OS column shows both.

Each chain starts where this host stands (see nestvirt check): on bare metal the
host is the L0 and its VMs are L1s; on a guest the L0 below is not visible, the
host is an L1 and its VMs are L2s. Read-only: without --guest-agent only the
daemon's read-only socket is used, where there is one.`,
		Args: noArgs,
		RunE: run(func() error { return a.runVMs(o) }),
	}
	o.connect.add(cmd, a)
	o.connect.addAgent(cmd)
	cmd.Flags().StringVar(&o.root, "root", "/", "read the host's facts from this snapshot instead of /")
	cmd.Flags().StringVar(&o.sos, "sos", "", "judge the domains a sosreport holds (its directory or archive), with that host's facts; no libvirt is asked")
	cmd.Flags().StringVar(&o.hostConfig, "host-config", "", "with -c another host: that host's host.yaml, for what nestvirt cannot read of it (this machine's is never used for another host)")
	o.stated.add(cmd)
	o.verdictFlags.add(cmd, formatHelp)
	return cmd
}

// auditSos judges the domains a sosreport holds, with the host facts of the same
// report: no libvirt is asked.
func (a *app) auditSos(o vmsOptions, read *reading) (probe.Facts, *judge.Audit, error) {
	if o.root != "/" {
		return probe.Facts{}, nil, inputErrorf("--root and --sos: give one of them")
	}
	rep, err := sos.Open(o.sos)
	if err != nil {
		return probe.Facts{}, nil, inputErrorf("--sos %s: %w", o.sos, err)
	}
	facts, at, err := factsFrom(func(string) (*probe.Root, error) { return probe.OpenReport(rep), nil }, "--sos", o.sos, o.stated)
	*read = a.readingOf(doc.OriginSosreport, o.sos, at)
	if err != nil {
		return facts, nil, err
	}
	p, err := a.policy()
	if err != nil {
		return facts, nil, err
	}
	res := audit.Report(p, rep, facts)
	read.recorded = recorded.Read(rep.Files(recorded.Dir))
	res.Notes = append(res.Notes, recorded.VMsDiffer(read.recorded, verdicts(res))...)
	return facts, &res, nil
}

func (a *app) runVMs(o vmsOptions) error {
	style, err := a.startStyle(o.verdictFlags)
	style.FlagsOnly = o.sos != ""
	if err != nil {
		return err
	}
	var res *judge.Audit
	var facts probe.Facts
	var runErr error
	read := a.readingOf(doc.OriginLive, "", nil)
	if o.sos != "" {
		facts, res, runErr = a.auditSos(o, &read)
	} else {
		var at *time.Time
		local := func() (probe.Facts, error) {
			var f probe.Facts
			var err error
			f, at, err = factsFrom(probe.OpenRoot, "--root", o.root, o.stated)
			return f, err
		}
		var remote probe.Stated
		if remote, runErr = o.remoteStated(); runErr == nil {
			var r audit.Result
			r, runErr = a.audit(o.connect, local, o.root, remote, false)
			facts = r.Host
			if r.Audit.URI != "" {
				res = &r.Audit
			}
		}
		if o.root != "/" {
			read = a.readingOf(doc.OriginSnapshot, o.root, at)
		}
	}
	switch {
	case forPrograms(o.format):
		// The document, whatever failed: with the failure inside.
		var host *probe.Facts
		if facts.Arch != nil || facts.Hostname != nil {
			host = &facts
		}
		document := doc.NewVMsDoc(res, host, docError(runErr))
		document.CheckedAt, document.Origin = read.at, &read.origin
		document.Recorded = read.recorded.Part()
		vmActions(document.VMs, res, facts, o.root, o.sos)
		if err := a.writeTo(o.output, func(w io.Writer) error { return report.WriteJSON(w, document) }); err != nil {
			return err
		}
	case res != nil:
		err := a.writeTo(o.output, func(w io.Writer) error {
			cites := report.NewCites()
			var err error
			if !o.quiet {
				err = report.RecordedText(w, read.recorded.Part(), style)
			}
			if err == nil {
				err = report.VMsText(w, *res, style, o.quiet, cites)
			}
			if err == nil && !o.quiet {
				err = style.WriteSources(w, cites)
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

// audit judges the VMs of the daemon c names (audit.Run): local reads this
// machine's facts (or --root's) and is called only when the daemon is this
// machine's own or --root stands for its host; remote is what was stated for
// another daemon's host.
func (a *app) audit(c connectFlags, local func() (probe.Facts, error), root string, remote probe.Stated, thisMachine bool) (audit.Result, error) {
	p, err := a.policy()
	if err != nil {
		return audit.Result{}, err
	}
	r, err := audit.Run(p, audit.Options{
		Dial: func(o libvirt.Options) (audit.Daemon, error) { return c.dial(o) },
		URI:  c.uri, Timeout: c.timeout, Agents: c.agent,
		Local: local, Root: root, Stated: remote, ThisMachine: thisMachine,
	})
	return r, auditErr(err)
}

// auditErr classifies an audit's error.
func auditErr(err error) error {
	var se *stated.Error
	switch {
	case err == nil, classified(err):
		return err
	case errors.As(err, &se), errors.Is(err, audit.ErrOtherMachine), errors.Is(err, audit.ErrSnapshotMismatch):
		return inputError{err}
	}
	return libvirtErr(err)
}

// remoteStated is what was stated for another daemon's host: --host-config
// (that host's host.yaml, given here) and the flags over it.
func (o vmsOptions) remoteStated() (probe.Stated, error) {
	f := probe.Facts{Stated: probe.Stated{From: []string{}}}
	if o.hostConfig != "" {
		data, err := readLimited(o.hostConfig, strictyaml.MaxBytes)
		if err != nil {
			return probe.Stated{}, inputErrorf("--host-config: %w", err)
		}
		s, err := stated.Parse(o.hostConfig, data)
		if err != nil {
			return probe.Stated{}, inputError{err}
		}
		f.Stated = s
	}
	if err := o.stated.apply(&f); err != nil {
		return probe.Stated{}, err
	}
	return f.Stated, nil
}

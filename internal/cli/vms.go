package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/sos"
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

// askAgents asks the guest agents of the running domains on a read-write
// connection of its own (libvirt refuses virDomainGetGuestInfo on a read-only
// one): one agent that hangs closes that connection, not the audit's. It says
// why none was asked, or "".
func (c connectFlags) askAgents(recs []domxml.Record) string {
	if !c.agent || !slices.ContainsFunc(recs, func(r domxml.Record) bool { return r.Err == nil && r.State == "running" }) {
		return ""
	}
	rw, err := c.dial(libvirt.Options{URI: c.uri, Timeout: c.timeout})
	if err != nil {
		return fmt.Sprintf("the guest agents were not asked (the OS of each VM is the declared one): a read-write connection, which libvirt needs for them, failed: %s", err)
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
	o.stated.add(cmd)
	o.verdictFlags.add(cmd, formatHelp)
	return cmd
}

// daemonHost is the host a daemon's domains run on, as nestvirt judges them.
// local holds the facts read here: this machine's, or --root's (root). For a
// local daemon they are the answer; a snapshot given with --root is then said to
// stand for this machine. For a remote daemon, this machine is not the host:
// its CPU is read from the daemon's capabilities (the rest is unknown) unless
// --root gives that host's snapshot, whose CPU must match the daemon's. The
// notes say which machine each part of the answer describes.
func daemonHost(conn daemon, root string, local probe.Facts) (probe.Facts, []string, error) {
	uri, isLocal := conn.Where()
	if isLocal {
		if root != "/" {
			return local, []string{fmt.Sprintf("the host facts are the snapshot %s's; the domains are %s's, on this machine: they are judged as if they ran on the snapshot's host", root, uri)}, nil
		}
		return local, nil, nil
	}
	h, err := conn.Host()
	if err != nil {
		return probe.Facts{}, nil, dependencyError{fmt.Errorf("%s is another host, whose CPU decides what its VMs can use (vmx or svm), and its capabilities could not be read: %w", uri, err)}
	}
	if h.Vendor == "" && arch.IsX86(h.Arch) {
		return probe.Facts{}, nil, refusedError{fmt.Errorf("the daemon at %s does not name its host's CPU vendor, so whether its VMs need vmx or svm is unknown", uri)}
	}
	if root != "/" {
		if probe.Str(local.Arch) != h.Arch || (local.CPUVendor != nil && h.Vendor != "" && *local.CPUVendor != h.Vendor) {
			return local, nil, inputErrorf("--root %s describes a host whose CPU is %s %s, but the daemon at %s runs on %s %s: give that host's snapshot", root, probe.Str(local.CPUVendor), probe.Str(local.Arch), uri, h.Vendor, h.Arch)
		}
		return local, []string{fmt.Sprintf("the host facts are the snapshot %s's, standing for the host of %s (its CPU matches the daemon's: %s %s)", root, uri, h.Vendor, h.Arch)}, nil
	}
	f := probe.Facts{Arch: &h.Arch, Stated: local.Stated, Notes: []string{}, KVM: probe.KVMFacts{Config: []string{}}, Virtualization: probe.Virtualization{Evidence: []string{}}}
	if h.Vendor != "" {
		f.CPUVendor = &h.Vendor
	}
	f.Stated.From = append([]string{}, local.Stated.From...)
	note := fmt.Sprintf("%s is another host: its CPU (%s %s) is read from its daemon's capabilities, and nothing else of it (whether nesting is on, where it stands) can be read from here; run nestvirt there, or give its snapshot with --root", uri, h.Vendor, h.Arch)
	f.Notes = append(f.Notes, note)
	return f, []string{note}, nil
}

// audit reads every domain and judges it from the host's position. It returns
// the host facts it judged with (the remote host's, for a remote daemon).
// With thisHost (check --vms), a remote daemon is refused: its VMs are another
// machine's than the one check judged.
func (a *app) audit(c connectFlags, facts probe.Facts, root string, thisHost bool) (judge.Audit, probe.Facts, error) {
	p, err := a.policy()
	if err != nil {
		return judge.Audit{}, facts, err
	}
	conn, err := c.connect(true)
	if err != nil {
		return judge.Audit{}, facts, err
	}
	defer conn.Close()
	if uri, local := conn.Where(); thisHost && !local {
		return judge.Audit{}, facts, inputErrorf("%s is another host: check --vms judges this machine's VMs; for that host's, run nestvirt vms -c %s (or nestvirt check --vms there)", uri, uri)
	}
	facts, notes, err := daemonHost(conn, root, facts)
	if err != nil {
		return judge.Audit{}, facts, err
	}
	records, err := conn.ReadAll(workers())
	if err != nil {
		return judge.Audit{}, facts, libvirtErr(err)
	}
	agentNote := c.askAgents(records)
	res := judge.VMs(p, facts, records, conn.HostModel())
	res.Notes = append(notes, res.Notes...)
	if agentNote != "" {
		res.Notes = append(res.Notes, agentNote)
	}
	res.URI, _ = conn.Where()
	return res, facts, nil
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
	res := auditReport(p, rep, facts)
	return facts, &res, nil
}

// auditReport judges a sosreport's domains with the facts of its host.
func auditReport(p *policy.Policy, rep *sos.Report, facts probe.Facts) judge.Audit {
	var hostModel func(arch, feature string) (bool, error)
	if caps := rep.DomainCapabilities(); caps != "" {
		hostModel = func(_, feature string) (bool, error) { return domxml.HostModelRequires(caps, feature) }
	}
	res := judge.VMs(p, facts, rep.Domains(), hostModel)
	res.URI = "sosreport " + rep.Real("")
	return res
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
		facts, at, runErr = factsFrom(probe.OpenRoot, "--root", o.root, o.stated)
		if o.root != "/" {
			read = a.readingOf(doc.OriginSnapshot, o.root, at)
		}
		if runErr == nil {
			var r judge.Audit
			if r, facts, runErr = a.audit(o.connect, facts, o.root, false); runErr == nil {
				res = &r
			}
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
		if err := a.writeTo(o.output, func(w io.Writer) error { return report.WriteJSON(w, document) }); err != nil {
			return err
		}
	case res != nil:
		err := a.writeTo(o.output, func(w io.Writer) error {
			cites := report.NewCites()
			err := report.VMsText(w, *res, style, o.quiet, cites)
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

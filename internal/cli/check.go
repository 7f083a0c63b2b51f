package cli

import (
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/check"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/report"
)

type checkOptions struct {
	verdictFlags
	root    string
	quiet   bool
	vms     bool
	connect string
}

func (a *app) checkCmd() *cobra.Command {
	o := checkOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Judge this machine: where it stands, whether it can nest, what the rules say, how to fix it",
		Long: `Judge the machine nestvirt runs on: CPU and virtualization extensions, KVM and its
nested setting (live and at the next module load), the OS, and where the machine
stands (bare-metal L0, a guest of which hypervisor, container, WSL2, depth). Then the
policy's host rules, with the source they cite and the commands that fix what can be
fixed. Needs no root: what cannot be read is reported as unknown.

--root DIR reads a snapshot (nestvirt snapshot) instead of this machine.`,
		Example: "  nestvirt check\n  nestvirt check -q --fail-on does-not-work\n  nestvirt check --root ./snapshot --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runCheck(o)
		},
	}
	cmd.Flags().StringVar(&o.root, "root", "/", "read the machine from this snapshot directory instead of /")
	o.verdictFlags.add(cmd)
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print only findings that need action")
	cmd.Flags().BoolVar(&o.vms, "vms", false, "also judge this host's libvirt VMs (as nestvirt vms)")
	addConnectFlag(cmd, &o.connect)
	return cmd
}

func (a *app) runCheck(o checkOptions) error {
	style, p, err := a.start(o.verdictFlags)
	if err != nil {
		return err
	}
	if st, err := os.Stat(o.root); err != nil || !st.IsDir() {
		return inputErrorf("--root %s: not a directory", o.root)
	}
	// Compiling the host rules is CPU work, probing is mostly I/O: overlap them.
	ready := make(chan struct{})
	go func() { p.Prepare(policy.ScopeHost); close(ready) }()
	facts := probe.ProbeRoot(probe.NewRoot(o.root))
	<-ready
	res, err := check.Judge(p, facts)
	if err != nil {
		// A policy that cannot judge these facts: say so, judge the rest.
		res.Host.Notes = append(res.Host.Notes, "policy: "+err.Error())
	}
	var vms *libvirt.Audit
	if o.vms {
		conn, err := libvirt.Connect(o.connect, true)
		if err != nil {
			return inputError{err}
		}
		defer conn.Close()
		audit, err := libvirt.AuditAll(conn, p, facts, 4*runtime.GOMAXPROCS(0))
		if err != nil {
			return inputError{err}
		}
		vms = &audit
		res.Verdict = policy.Worst(res.Verdict, audit.Verdict)
	}
	switch {
	case o.format == "json" && vms != nil:
		err = report.JSON(a.stdout, struct {
			check.Result
			VMs []libvirt.VMResult `json:"vms"`
		}{res, vms.VMs})
	case o.format == "json":
		err = report.CheckJSON(a.stdout, res)
	default:
		err = report.CheckText(a.stdout, res, style, o.quiet)
		if err == nil && vms != nil && !o.quiet {
			fmt.Fprintln(a.stdout)
			err = report.VMsText(a.stdout, *vms, style)
		}
	}
	if err != nil {
		return err
	}
	return failOn(res.Verdict, o.failOn)
}

func (a *app) snapshotCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "snapshot DIR",
		Short: "Copy every file check reads, and the CPUID leaves, into DIR for check --root",
		Long: `Copy every file nestvirt check reads into DIR (same paths), plus cpuid.txt with
the CPUID leaves in the raw format of 'cpuid -r -1'. 'nestvirt check --root DIR'
replays this machine exactly. Attach DIR to a bug report. DIR must be new or empty.
Files this user cannot read are left out, and listed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, notes, err := probe.Snapshot(args[0])
			if err != nil {
				return inputError{err}
			}
			for _, n := range notes {
				fmt.Fprintf(a.stderr, "nestvirt: note: %s\n", n)
			}
			fmt.Fprintf(a.stdout, "snapshot written to %s; replay it with: nestvirt check --root %s\n", args[0], args[0])
			return nil
		},
	}
}

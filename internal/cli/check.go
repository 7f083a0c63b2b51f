package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/audit"
	"github.com/nestvirt/nestvirt/internal/buildinfo"
	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/report/nfd"
	"github.com/nestvirt/nestvirt/internal/report/prometheus"
)

type checkOptions struct {
	clioptions.Verdict
	stated  clioptions.Stated
	source  inspect.Source
	vms     bool
	connect clioptions.Connect
}

func (a *app) checkCmd() *cobra.Command {
	o := checkOptions{}
	cmd := &cobra.Command{
		Use:     "check",
		Short:   "Judge this machine: where it stands, whether it can nest, what the rules say, how to fix it",
		Long:    manual.Long("check", "{{host.yaml}}", inspect.HostConfigExample),
		Example: "  nestvirt check\n  nestvirt check -q --fail-on does-not-work\n  nestvirt check --migrates no\n  nestvirt check --root ./snapshot --format json",
		Args:    noArgs,
		RunE:    run(func() error { return a.runCheck(o) }),
	}
	cmd.Flags().StringVar(&o.source.Root, "root", "/", "read the machine from this snapshot (a directory, or the tar snapshot --tar wrote) instead of /")
	cmd.Flags().StringVar(&o.source.Sos, "sos", "", "judge the machine a sosreport describes: its directory, or its .tar.xz/.tar.gz archive (read in memory, never extracted)")
	cmd.Flags().StringVar(&o.source.HostRoot, "host-root", "", "read this machine's / mounted at this directory, as a container sees its node (/host): files from there, CPUID from this CPU")
	o.Verdict.Add(cmd, "output format: text, json, prometheus (for node_exporter's textfile collector) or nfd (a Node Feature Discovery feature file)", checkFormats...)
	o.stated.Add(cmd)
	cmd.Flags().BoolVar(&o.vms, "vms", false, "also judge this host's libvirt VMs (as nestvirt vms); with --sos, the domains the report holds")
	o.connect.Add(cmd, a.dialer())
	o.connect.AddAgent(cmd)
	return cmd
}

// checkFormats are what check prints: for a person, for programs, for a
// Prometheus textfile collector, for Node Feature Discovery.
var checkFormats = []string{"text", "json", "prometheus", "nfd"}

func (a *app) runCheck(o checkOptions) error {
	style, err := a.startStyle(o.Verdict)
	style.FlagsOnly = o.source.Sos != ""
	if err != nil {
		return err
	}
	m, res, audited, runErr := a.checkHost(o)
	if !clioptions.ForPrograms(o.Format) && res == nil {
		return runErr
	}
	err = a.writeTo(o.Output, func(w io.Writer) error {
		if o.Format == "text" {
			return report.MachineText(w, m.Recorded.Part(), res, audited, style, o.Quiet)
		}
		// A machine format always gets its document: a failure is inside it,
		// so a fleet's report shows the broken host rather than losing it.
		document := audit.CheckDocument(m, o.source, res, audited, doc.ErrorOf(runErr), a.policyFile, o.Format == "json")
		switch o.Format {
		case "prometheus":
			return prometheus.Check(w, document, a.clock(), buildinfo.Version)
		case "nfd":
			return nfd.Check(w, document, a.clock())
		}
		return report.WriteJSON(w, document)
	})
	if err != nil {
		return err
	}
	if runErr != nil {
		return runErr // the host report is out; what failed is said
	}
	return failOn(res.Verdict, o.FailOn)
}

// checkHost reads and judges the machine (and with --vms its VMs). The result
// is nil when the machine could not be read; err says what failed, also when a
// result is given (the VMs could not be judged, host.yaml is not valid).
func (a *app) checkHost(o checkOptions) (inspect.Machine, *judge.CheckResult, *judge.Audit, error) {
	loaded := policy.Ahead(a.policy, policy.ScopeHost)
	if err := o.stated.Check(); err != nil {
		return inspect.Machine{Origin: doc.Origin{Kind: doc.OriginLive}}, nil, nil, err
	}
	m, err := inspect.Read(o.source, o.stated.Statements, a.clock())
	if err == nil && o.vms {
		err = o.source.Check(true)
	}
	p, polErr := loaded()
	if polErr != nil {
		return m, nil, nil, polErr
	}
	// A host.yaml that is not valid costs only what it states: the machine is
	// judged without it (a note says why), and the run then ends as bad input.
	soft, err := statedSoft(err)
	if err != nil {
		return m, nil, nil, err
	}
	var vms *audit.Options
	if o.vms {
		vo := o.connect.Audit(audit.Options{Root: o.source.Root})
		vms = &vo
	}
	res, audited, err := audit.Check(p, m, vms)
	if err != nil {
		return m, &res, nil, err
	}
	return m, &res, audited, soft
}

// statedSoft splits a reading's error: a host.yaml that is not valid (soft: the
// machine was read without it, and the run ends as bad input after its answer)
// from any other.
func statedSoft(err error) (soft, hard error) {
	if inspect.UnusableHostYAML(err) {
		return err, nil
	}
	return nil, err
}

func (a *app) snapshotCmd() *cobra.Command {
	var tarFile string
	cmd := &cobra.Command{
		Use:               "snapshot DIR | --tar FILE",
		Short:             "Copy what check reads of this machine into DIR (or one tar file), for check --root and bug reports",
		Long:              manual.Long("snapshot"),
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: clioptions.CompleteDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (tarFile != "") {
				return inputErrorf("give a DIR or --tar FILE, one of them")
			}
			return run(func() error { return a.runSnapshot(args, tarFile) })(cmd, args)
		},
	}
	cmd.Flags().StringVar(&tarFile, "tar", "", "write the snapshot as one tar archive (- for stdout)")
	return cmd
}

func (a *app) runSnapshot(args []string, tarFile string) error {
	s, err := inspect.Snapshot(buildinfo.Version, time.Now())
	if err != nil {
		return err
	}
	report.Notes(a.stderr, "note", s.Notes)
	if kept := s.Partial(); len(kept) > 0 {
		report.Notes(a.stderr, "note", []string{fmt.Sprintf("kept only part of %s; review the snapshot before you share it", strings.Join(kept, ", "))})
	}
	if tarFile != "" {
		if tarFile == "-" {
			return s.WriteTar(a.stdout)
		}
		// 0600: the tar holds files that were not world-readable on the machine.
		if err := report.WriteFile(tarFile, 0o600, s.WriteTar); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "snapshot written to %s; replay it with: nestvirt check --root %s\n", tarFile, tarFile)
		return nil
	}
	if err := s.WriteDir(args[0]); err != nil {
		return inputError{Err: err}
	}
	fmt.Fprintf(a.stdout, "snapshot written to %s; replay it with: nestvirt check --root %s\n", args[0], args[0])
	return nil
}

package cli

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/audit"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/machine"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
	"github.com/nestvirt/nestvirt/internal/recorded"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/sos"
)

// statedFlags let the admin state what cannot be read, over /etc/nestvirt/host.yaml.
type statedFlags struct {
	migrates string
	l0OS     string
}

func (s *statedFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.migrates, "migrates", "", "whether this host's VMs are live-migrated: yes or no (default: migration: in "+"/"+stated.HostConfig+", else unknown)")
	cmd.Flags().StringVar(&s.l0OS, "l0-os", "", "inside a guest: the OS of the L0 host below it, which cannot be seen from here (rhel10.0)")
}

// apply puts the flags' statements over what host.yaml said.
func (s statedFlags) apply(f *probe.Facts) error {
	if s.migrates != "" {
		if err := migratesChoice.check(s.migrates); err != nil {
			return err
		}
		v := s.migrates == "yes"
		f.Stated.Migration = &v
		f.Stated.From = append(f.Stated.From, "migration: --migrates "+s.migrates)
	}
	if s.l0OS != "" {
		o, err := osid.Parse(s.l0OS)
		if err != nil {
			return inputErrorf("--l0-os: %w", err)
		}
		f.Stated.L0OS = &o.ID
		f.Stated.From = append(f.Stated.From, "l0.os: --l0-os "+s.l0OS)
	}
	return nil
}

type checkOptions struct {
	verdictFlags
	stated   statedFlags
	root     string
	hostRoot string
	sos      string
	vms      bool
	connect  connectFlags
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
fixed. Needs no root: what cannot be read is reported as unknown, and a verdict
never rests on it (such findings are marked undetermined).

Some facts cannot be read at all: whether this host's VMs are live-migrated, and
inside a guest, which OS runs the L0 below. State them in /etc/nestvirt/host.yaml:

` + indent(stated.HostConfigExample, "  ") + `
or with --migrates and --l0-os.

--sos PATH judges the machine a sosreport describes (an extracted report, or its
archive): what sos collected is read where sos keeps it, what it did not is
unknown; with --vms, the domains the report holds. --root DIR reads a snapshot
(nestvirt snapshot; its --tar file too, as written) instead of this machine (--vms is refused with it: the VMs
libvirt lists are this machine's); --host-root DIR reads this machine's / mounted
at DIR, as a container of a DaemonSet sees its node (deploy/kubernetes/).`,
		Example: "  nestvirt check\n  nestvirt check -q --fail-on does-not-work\n  nestvirt check --migrates no\n  nestvirt check --root ./snapshot --format json",
		Args:    noArgs,
		RunE:    run(func() error { return a.runCheck(o) }),
	}
	cmd.Flags().StringVar(&o.root, "root", "/", "read the machine from this snapshot (a directory, or the tar snapshot --tar wrote) instead of /")
	cmd.Flags().StringVar(&o.sos, "sos", "", "judge the machine a sosreport describes: its directory, or its .tar.xz/.tar.gz archive (read in memory, never extracted)")
	cmd.Flags().StringVar(&o.hostRoot, "host-root", "", "read this machine's / mounted at this directory, as a container sees its node (/host): files from there, CPUID from this CPU")
	o.verdictFlags.add(cmd, "output format: text, json, prometheus (for node_exporter's textfile collector) or nfd (a Node Feature Discovery feature file)", checkFormats...)
	o.stated.add(cmd)
	cmd.Flags().BoolVar(&o.vms, "vms", false, "also judge this host's libvirt VMs (as nestvirt vms); with --sos, the domains the report holds")
	o.connect.add(cmd, a)
	o.connect.addAgent(cmd)
	return cmd
}

// hostFacts probes the machine (or a snapshot of it) and applies the admin's
// statements. A host.yaml that cannot be used is bad input.
func hostFacts(root string, sf statedFlags) (probe.Facts, error) {
	f, _, err := factsFrom(probe.OpenRoot, "--root", root, sf)
	return f, err
}

// factsFrom probes what open opens at dir (flag names it in errors), and says
// when the machine was read when that is not now (a snapshot, a report).
func factsFrom(open func(string) (*probe.Root, error), flag, dir string, sf statedFlags) (probe.Facts, *time.Time, error) {
	f, r, err := factsOf(open, flag, dir, sf)
	if r == nil {
		return f, nil, err
	}
	defer r.Close()
	if t, ok := r.ReadAt(); ok {
		return f, &t, err
	}
	return f, nil, err
}

func factsOf(open func(string) (*probe.Root, error), flag, dir string, sf statedFlags) (probe.Facts, *probe.Root, error) {
	r, err := open(dir)
	if err != nil {
		return probe.Facts{}, nil, inputErrorf("%s %s: %w", flag, dir, err)
	}
	f, err := machine.Probe(r)
	var se *stated.Error
	if errors.As(err, &se) {
		return f, r, inputError{se}
	}
	if err := sf.apply(&f); err != nil {
		return f, r, err
	}
	return f, r, nil
}

// checkFormats are what check prints: for a person, for programs, for a
// Prometheus textfile collector, for Node Feature Discovery.
var checkFormats = []string{"text", "json", "prometheus", "nfd"}

func (a *app) runCheck(o checkOptions) error {
	style, err := a.startStyle(o.verdictFlags)
	style.FlagsOnly = o.sos != ""
	if err != nil {
		return err
	}
	var read reading
	res, audit, runErr := a.checkHost(o, &read)
	if !forPrograms(o.format) {
		if res == nil {
			return runErr
		}
		err := a.writeTo(o.output, func(w io.Writer) error {
			cites := report.NewCites()
			var err error
			if !o.quiet {
				err = report.RecordedText(w, read.recorded.Part(), style)
			}
			if err == nil {
				err = report.CheckText(w, *res, style, o.quiet, cites)
			}
			if err == nil && audit != nil {
				fmt.Fprintln(w)
				err = report.VMsText(w, *audit, style, o.quiet, cites)
			}
			if err == nil && !o.quiet {
				err = style.WriteSources(w, cites)
			}
			return err
		})
		if err != nil {
			return err
		}
	} else {
		// A machine format always gets its document: a failure is inside it, so a
		// fleet's report shows the broken host rather than losing it.
		document := doc.NewCheckDoc(res, audit, docError(runErr))
		document.CheckedAt, document.Origin = read.at, &read.origin
		document.Recorded = read.recorded.Part()
		if res != nil && o.format == "json" {
			document.Actions = a.hostActions(o, res.Host)
			if document.VMs != nil {
				vmActions(document.VMs.VMs, audit, res.Host, o.root, o.sos)
			}
		}
		now := a.clock()
		err := a.writeTo(o.output, func(w io.Writer) error {
			switch o.format {
			case "prometheus":
				return report.CheckPrometheus(w, document, now, Version)
			case "nfd":
				return report.CheckNFD(w, document, now)
			}
			return report.WriteJSON(w, document)
		})
		if err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr // the host report is out; what failed is said
	}
	return failOn(res.Verdict, o.failOn)
}

// checkHost probes and judges this machine (and with --vms its VMs). The result
// is nil when the machine could not be read; err says what failed, also when a
// result is given (the VMs could not be judged).
func (a *app) checkHost(o checkOptions, read *reading) (*judge.CheckResult, *judge.Audit, error) {
	loaded := policy.Ahead(a.policy, policy.ScopeHost)
	var facts probe.Facts
	var rep *sos.Report
	var err error
	*read = a.readingOf(doc.OriginLive, "", nil)
	switch {
	case countSet(o.hostRoot != "", o.root != "/", o.sos != "") > 1:
		err = inputErrorf("--root, --host-root and --sos: give one of them")
	case o.vms && o.root != "/":
		// One machine per answer: the snapshot is another machine (or this one
		// at another time), and the VMs libvirt would list are this one's now.
		err = inputErrorf("--vms with --root: the snapshot's VMs are not in it, and this machine's are not the snapshot's; run 'nestvirt check --vms' on the machine itself, or 'nestvirt vms --root %s' to judge this host's VMs as if they ran there", o.root)
	case o.hostRoot != "":
		facts, _, err = factsFrom(probe.OpenHostRoot, "--host-root", o.hostRoot, o.stated)
		*read = a.readingOf(doc.OriginHostRoot, o.hostRoot, nil)
	case o.sos != "":
		if rep, err = sos.Open(o.sos); err != nil {
			err = inputErrorf("--sos %s: %w", o.sos, err)
			break
		}
		var at *time.Time
		facts, at, err = factsFrom(func(string) (*probe.Root, error) { return probe.OpenReport(rep), nil }, "--sos", o.sos, o.stated)
		*read = a.readingOf(doc.OriginSosreport, o.sos, at)
		read.recorded = recorded.Read(rep.Files(recorded.Dir))
	default:
		var at *time.Time
		facts, at, err = factsFrom(probe.OpenRoot, "--root", o.root, o.stated)
		if o.root != "/" {
			*read = a.readingOf(doc.OriginSnapshot, o.root, at)
		}
	}
	p, polErr := loaded()
	if polErr != nil {
		return nil, nil, polErr
	}
	// A host.yaml that is not valid costs only what it states: the machine is
	// judged without it (a note says why), and the run then ends as bad input.
	var soft error
	var se *stated.Error
	if errors.As(err, &se) {
		soft, err = err, nil
	}
	if err != nil {
		return nil, nil, err
	}
	res, err := judge.Check(p, facts)
	if err != nil {
		// A policy that cannot judge these facts: say so, judge the rest.
		res.Host.Notes = append(res.Host.Notes, "policy: "+err.Error())
	}
	if f := recorded.Differs(read.recorded, res.Verdict, res.Findings, facts, p.Name); f != nil {
		res.Findings = append(res.Findings, *f)
	}
	if !o.vms {
		return &res, nil, soft
	}
	var audited judge.Audit
	if rep != nil {
		// The report's own domains, with the report's host facts: no libvirt.
		audited = audit.Report(p, rep, facts)
		audited.Notes = append(audited.Notes, recorded.VMsDiffer(read.recorded, verdicts(audited))...)
	} else {
		r, err := a.audit(o.connect, func() (probe.Facts, error) { return facts, nil }, o.root, probe.Stated{}, true)
		if err != nil {
			return &res, nil, err
		}
		audited = r.Audit
	}
	res.Fold(audited)
	return &res, &audited, soft
}

// reading is where and when a document's facts were read.
type reading struct {
	origin doc.Origin
	at     *string // RFC 3339, UTC; nil when unknown
	// recorded is what nestvirt recorded on the host into the sosreport
	// read; nil for any other source, or a report without it.
	recorded *recorded.Record
}

// verdicts are an audit's VM verdicts by name.
func verdicts(a judge.Audit) map[string]policy.Level {
	m := map[string]policy.Level{}
	for _, v := range a.VMs {
		m[v.Name] = v.Verdict
	}
	return m
}

// readingOf is a reading of kind at path: a live one (no snapshot, report or
// mount to say otherwise) was read now; a tree's is its own time, or unknown.
func (a *app) readingOf(kind doc.OriginKind, path string, at *time.Time) reading {
	r := reading{origin: doc.Origin{Kind: kind}}
	if path != "" {
		r.origin.Path = &path
	}
	if kind == doc.OriginLive || kind == doc.OriginHostRoot {
		now := a.clock()
		at = &now
	}
	if at != nil {
		s := at.UTC().Format(time.RFC3339)
		r.at = &s
	}
	return r
}

func countSet(flags ...bool) int {
	n := 0
	for _, f := range flags {
		if f {
			n++
		}
	}
	return n
}

// docError is a command's failure as its document says it.
func docError(err error) *doc.Error {
	if err == nil {
		return nil
	}
	kind := doc.ErrorDependency
	switch exitCode(err) {
	case ExitInput:
		kind = doc.ErrorInput
	case ExitFindings:
		kind = doc.ErrorRefused
	}
	return &doc.Error{Kind: kind, Message: err.Error()}
}

func (a *app) snapshotCmd() *cobra.Command {
	var tarFile string
	cmd := &cobra.Command{
		Use:   "snapshot DIR | --tar FILE",
		Short: "Copy what check reads of this machine into DIR (or one tar file), for check --root and bug reports",
		Long: `Copy what nestvirt check reads of this machine into DIR (same paths), plus cpuid.txt
with the CPUID leaves in the raw format of 'cpuid -r -1' and nestvirt-snapshot.json,
which records every path looked at and what was found there, so that
'nestvirt check --root DIR' replays this machine exactly.

It is made to be attached to a bug report: of each file only what the probe needs
is kept (from PID 1's environment only container=, from the kernel command line
only init=, rdinit= and KVM module parameters, and so on; the manifest lists each
such filter), and no file is more readable than it is on the machine. DIR is
created (an existing one must be empty and yours); --tar FILE writes one archive
instead (- for stdout). See docs/SECURITY.md.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeDir,
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
	s, err := machine.Snapshot(Version, time.Now())
	if err != nil {
		return err
	}
	for _, n := range s.Notes {
		fmt.Fprintf(a.stderr, "nestvirt: note: %s\n", n)
	}
	var kept []string
	for p, what := range s.Manifest.Filtered {
		kept = append(kept, p+" ("+what+")")
	}
	sort.Strings(kept)
	if len(kept) > 0 {
		fmt.Fprintf(a.stderr, "nestvirt: note: kept only part of %s; review the snapshot before you share it\n", strings.Join(kept, ", "))
	}
	if tarFile != "" {
		if tarFile == "-" {
			return s.WriteTar(a.stdout)
		}
		// 0600: the tar holds files that were not world-readable on the machine.
		if err := writeOutput(tarFile, 0o600, s.WriteTar); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "snapshot written to %s; replay it with: nestvirt check --root %s\n", tarFile, tarFile)
		return nil
	}
	if err := s.WriteDir(args[0]); err != nil {
		return inputError{err}
	}
	fmt.Fprintf(a.stdout, "snapshot written to %s; replay it with: nestvirt check --root %s\n", args[0], args[0])
	return nil
}

func indent(s, prefix string) string {
	var out string
	for l := range strings.Lines(s) {
		out += prefix + strings.TrimSuffix(l, "\n") + "\n"
	}
	return out
}

// workers is how many domains are read at once.
func workers() int { return 4 * runtime.GOMAXPROCS(0) }

// oneLine is an error's message on one line (a host.yaml's problems are one
// per line).
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// remedyFacts are the host facts an action (enable, disable, expose) decides
// with. A host.yaml that is not valid never blocks the remedy check gives: it
// costs only the facts it would state, and says so, as the guard does.
func (a *app) remedyFacts(root string) (probe.Facts, error) {
	f, err := hostFacts(root, statedFlags{})
	var se *stated.Error
	if errors.As(err, &se) {
		fmt.Fprintf(a.stderr, "nestvirt: note: %s; what it states is unknown here\n", oneLine(err))
		return f, nil
	}
	return f, err
}

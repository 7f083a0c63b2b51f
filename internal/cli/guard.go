package cli

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/probe"
)

type guardOptions struct {
	mode       string
	failClosed bool
	root       string
	hooksDir   string
}

func (a *app) guardCmd() *cobra.Command {
	o := guardOptions{}
	cmd := &cobra.Command{
		Use:   "guard",
		Short: "A libvirt QEMU hook that stops what the rules say does not work",
		Long: `A libvirt QEMU hook (/etc/libvirt/hooks/qemu.d/nestvirt-guard) that judges each
guest start, restore and incoming migration with this host's live facts and the
policy, before libvirt goes on:

  - an incoming migration (libvirt calls the hook on the destination) to an AMD host
    with nesting on is refused: migrating VMs does not work there, and fails by
    corrupting the guest, not by an error;
  - a guest backed by huge pages on an IBM Z host with nesting on is refused;
  - a guest on a host at level 2 or deeper is allowed with a warning (it is an L3).

What it cannot see: the source side of a migration. A host migrating its VMs away is
not stopped by its own guard; the destination's guard refuses them. Install the guard
on every host of a migration pool. It never blocks a VM because it failed to read a
fact, unless --fail-closed. Each decision is logged to syslog (journalctl -t
nestvirt-guard). --mode warn logs and never blocks.

libvirtd (or virtqemud) reads the qemu.d directory when it starts: restart it after
the first install.`,
	}
	install := &cobra.Command{
		Use:   "install",
		Short: "Install the hook",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.mode != guard.Enforce && o.mode != guard.Warn {
				return inputErrorf("--mode: unknown value %q (enforce, warn)", o.mode)
			}
			bin, err := os.Executable()
			if err != nil {
				return inputError{err}
			}
			path, err := guard.Install(o.hooksDir, guard.Config{Binary: bin, Mode: o.mode, FailClosed: o.failClosed, Root: o.root})
			if err != nil {
				return inputError{err}
			}
			fmt.Fprintf(a.stdout, "installed %s (mode %s), running %s\nrestart libvirtd or virtqemud if no qemu hook was active when it started: it reads the hook directory at start\n", path, o.mode, bin)
			return nil
		},
	}
	install.Flags().StringVar(&o.mode, "mode", guard.Enforce, "enforce (refuse what does not work) or warn (log it, never block)")
	install.Flags().BoolVar(&o.failClosed, "fail-closed", false, "refuse when the guard cannot read the facts it needs")
	install.Flags().StringVar(&o.root, "root", "/", "the hook reads this host's facts from this snapshot tree (for tests and demonstrations)")
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the hook",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := guard.Uninstall(o.hooksDir)
			if err != nil {
				return inputError{err}
			}
			fmt.Fprintf(a.stdout, "removed %s\n", path)
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show whether the hook is installed and what it would decide on this host",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return a.guardStatus(o) },
	}
	status.Flags().StringVar(&o.root, "root", "/", "judge with this snapshot tree's facts")
	hook := &cobra.Command{
		Use:    "hook -- DOMAIN OPERATION SUB-OPERATION EXTRA",
		Short:  "Run as libvirt's QEMU hook: the domain XML on stdin, exit 0 to allow",
		Hidden: true,
		Args:   cobra.ExactArgs(4),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.guardHook(o, args)
		},
	}
	hook.Flags().StringVar(&o.mode, "mode", guard.Enforce, "enforce or warn")
	hook.Flags().BoolVar(&o.failClosed, "fail-closed", false, "refuse when facts cannot be read")
	hook.Flags().StringVar(&o.root, "root", "/", "read this host's facts from this snapshot tree")
	cmd.PersistentFlags().StringVar(&o.hooksDir, "hooks-dir", "/etc/libvirt/hooks", "libvirt's hook directory")
	cmd.AddCommand(install, uninstall, status, hook)
	return cmd
}

// guardHook is what libvirt runs. It never writes to stdout: for a migration,
// libvirt would read it as a replacement domain XML.
func (a *app) guardHook(o guardOptions, args []string) error {
	in := guard.Input{Domain: args[0], Op: args[1], SubOp: args[2], Mode: o.mode, FailClosed: o.failClosed}
	if o.mode != guard.Enforce && o.mode != guard.Warn {
		return inputErrorf("--mode: unknown value %q (enforce, warn)", o.mode)
	}
	var d guard.Decision
	if st, err := os.Stat(o.root); err != nil || !st.IsDir() {
		in.Facts = probe.Facts{}
	} else {
		in.Facts = probe.ProbeRoot(probe.NewRoot(o.root))
	}
	if xml, err := io.ReadAll(io.LimitReader(a.stdin, domxml.MaxSize+1)); err == nil && len(xml) <= domxml.MaxSize {
		in.XML = xml
	}
	p, err := a.policy()
	if err != nil {
		return err
	}
	d = guard.Decide(p, in)
	if w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_NOTICE, "nestvirt-guard"); err == nil {
		w.Notice(d.Log)
		w.Close()
	}
	if d.Message != "" {
		fmt.Fprintln(a.stderr, d.Message)
	}
	if d.Judged && d.Message == "" {
		fmt.Fprintln(a.stderr, d.Log)
	}
	if !d.Allow {
		return thresholdError{d.Log}
	}
	return nil
}

func (a *app) guardStatus(o guardOptions) error {
	script, ours, err := guard.Installed(o.hooksDir)
	if err != nil {
		return inputError{err}
	}
	switch {
	case script == "":
		fmt.Fprintf(a.stdout, "not installed (%s)\n", guard.Path(o.hooksDir))
	case !ours:
		fmt.Fprintf(a.stdout, "%s exists but is not nestvirt's\n", guard.Path(o.hooksDir))
	default:
		line := ""
		for _, l := range strings.Split(script, "\n") {
			if strings.HasPrefix(l, "exec ") {
				line = l
			}
		}
		fmt.Fprintf(a.stdout, "installed: %s\n  %s\n", guard.Path(o.hooksDir), line)
	}
	facts, err := hostFacts(o.root)
	if err != nil {
		return err
	}
	p, err := a.policy()
	if err != nil {
		return err
	}
	plain := []byte("<domain type='kvm'><name>example</name><memory>65536</memory><os><type>hvm</type></os></domain>")
	huge := []byte("<domain type='kvm'><name>example</name><memory>65536</memory><memoryBacking><hugepages/></memoryBacking><os><type>hvm</type></os></domain>")
	for _, c := range []struct {
		what, op string
		xml      []byte
	}{{"an incoming migration", "migrate", plain}, {"starting a guest", "prepare", plain}, {"starting a guest with huge pages", "prepare", huge}} {
		d := guard.Decide(p, guard.Input{Domain: "example", Op: c.op, SubOp: "begin", XML: c.xml, Facts: facts, Mode: guard.Enforce})
		verdict := "allowed"
		if !d.Allow {
			verdict = "refused (" + d.Rule + ")"
		} else if d.Rule != "" {
			verdict = "allowed with a warning (" + d.Rule + ")"
		}
		fmt.Fprintf(a.stdout, "on this host, %s would be %s\n", c.what, verdict)
	}
	return nil
}

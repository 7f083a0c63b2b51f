package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/expose"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/report"
)

type annotateOptions struct {
	connect clioptions.Connect
	runs    string
	l2      []string
	os      string
}

func (a *app) annotateCmd() *cobra.Command {
	o := annotateOptions{}
	cmd := &cobra.Command{
		Use:     "annotate DOMAIN --runs wsl2|hyper-v|kvm|none [--l2 OS,...] [--os OS]",
		Short:   "Record what a guest runs inside (and its OS) in its libvirt metadata",
		Long:    manual.Long("annotate"),
		Example: "  nestvirt annotate win11 --runs wsl2 --l2 ubuntu24.04\n  nestvirt annotate lab1 --runs kvm --l2 rhel10.0,rhel9.6 --os rhel9.6",
		Args:    exactArgs(1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("runs") {
				return inputErrorf("--runs is required (one of: %s)", strings.Join(expose.GuestRuns, ", "))
			}
			return run(func() error { return a.runAnnotate(o, args[0]) })(cmd, args)
		},
	}
	o.connect.Add(cmd, a.dialer())
	cmd.ValidArgsFunction = clioptions.CompleteDomain(&o.connect)
	cmd.Flags().StringVar(&o.runs, "runs", "", "what the guest runs its guests with: "+strings.Join(expose.GuestRuns, ", "))
	cmd.Flags().StringSliceVar(&o.l2, "l2", nil, "OS of each of its guests (as in topology files: ubuntu24.04, rhel10.0)")
	cmd.Flags().StringVar(&o.os, "os", "", "the guest's own OS, where libosinfo metadata is missing or wrong")
	return cmd
}

// exactArgs is cobra.ExactArgs with a message that names what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return inputErrorf("%s takes %s (got %d arguments; see '%s --help')", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func (a *app) runAnnotate(o annotateOptions, name string) error {
	rec, err := expose.NewAnnotation(o.runs, o.l2, o.os)
	if err != nil {
		return err
	}
	conn, err := o.connect.Open(false)
	if err != nil {
		return err
	}
	defer conn.Close()
	ann, err := rec.On(conn, name)
	if err != nil {
		return err
	}
	report.Annotated(a.stdout, name, ann)
	return nil
}

type exposeOptions struct {
	expose.Options // Arch, Vendor, Hyperv, Root
	connect        clioptions.Connect
	file           string
	dryRun         bool
	persist        bool
}

func (a *app) exposeCmd(undo bool) *cobra.Command {
	o := exposeOptions{}
	use, short, long := "expose DOMAIN | --file domain.xml", "Make a VM expose virtualization to its guest, keeping every other byte of its definition",
		manual.Long("expose")
	if undo {
		use, short, long = "unexpose DOMAIN | --file domain.xml", "Restore the <cpu> (and Hyper-V settings) that expose replaced",
			manual.Long("unexpose")
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  short + ".\n\n" + long,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (o.file != "") {
				return inputErrorf("give a DOMAIN or --file, one of them")
			}
			return run(func() error {
				if o.file != "" {
					return a.runExposeFile(o, undo)
				}
				return a.runExposeDomain(o, args[0], undo)
			})(cmd, args)
		},
	}
	o.connect.Add(cmd, a.dialer())
	cmd.ValidArgsFunction = clioptions.CompleteDomain(&o.connect)
	cmd.Flags().StringVar(&o.file, "file", "", "edit this domain XML file instead (- for stdin); the result goes to stdout")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print a unified diff of the definition (secrets masked) and change nothing")
	cmd.Flags().BoolVar(&o.persist, "persist", false, "allow defining a transient domain, which makes it persistent")
	if !undo {
		cmd.Flags().StringVar(&o.Root, "root", "/", "read this host's facts from a snapshot instead of /")
		cmd.Flags().StringVar(&o.Arch, "arch", "", "with --file: the guest's arch (default: from the XML)")
		cmd.Flags().StringVar(&o.Vendor, "vendor", "", "with --file: the host CPU vendor, intel or amd (default: the host's, --root's or this machine's)")
		cmd.Flags().StringVar(&o.Hyperv, "hyperv", "auto", "Hyper-V enlightenments: auto (Windows guests annotated as running wsl2 or hyper-v), on, off")
	}
	return cmd
}

func (a *app) runExposeFile(o exposeOptions, undo bool) error {
	if !undo {
		if o.Vendor != "" {
			if err := clioptions.Vendor.Check(o.Vendor); err != nil {
				return err
			}
		}
		if err := clioptions.Hyperv.Check(o.Hyperv); err != nil {
			return err
		}
	}
	data, err := expose.ReadFile(o.file, a.stdin)
	if err != nil {
		return inputError{Err: err}
	}
	res, said, err := expose.File(data, o.options(undo))
	a.say(said)
	switch {
	case classified(err):
		return err // the host's facts could not be read
	case err != nil:
		return inputError{Err: fmt.Errorf("%s: %w", o.file, err)}
	}
	report.Notes(a.stderr, "", res.Notes)
	if o.dryRun {
		return report.DefinitionDiff(a.stdout, o.file, data, res.XML)
	}
	_, err = a.stdout.Write(res.XML)
	return err
}

func (o exposeOptions) options(undo bool) expose.Options {
	eo := o.Options
	eo.Undo, eo.Facts = undo, inspect.HostFacts
	return eo
}

// say prints what a change said of its host and went on with.
func (a *app) say(s expose.Said) {
	report.Notes(a.stderr, "note", s.HostNotes)
	report.Notes(a.stderr, "warning", s.Warnings)
}

func (a *app) runExposeDomain(o exposeOptions, name string, undo bool) error {
	if !undo {
		if err := clioptions.Hyperv.Check(o.Hyperv); err != nil {
			return err
		}
	}
	conn, err := o.connect.Open(false)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Lookup(name); err != nil {
		return err
	}
	ch, said, err := expose.Domain(conn, name, libvirt.EditOptions{DryRun: o.dryRun, Persist: o.persist}, o.options(undo))
	a.say(said)
	if err != nil {
		return err
	}
	return report.DomainChange(a.stdout, a.stderr, name, ch, o.dryRun)
}

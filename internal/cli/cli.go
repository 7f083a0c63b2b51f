// Package cli is nestvirt's command line: each command parses its flags, calls a
// package, and hands the result to a renderer. It is the only layer that writes to
// the terminal or chooses an exit code.
//
// Output rules: results on stdout; errors on stderr as "nestvirt: error: ...",
// followed by "nestvirt: hint: ..." where there is something to try.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

// app holds what every command shares: streams and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	policyFile     string
	color          string
	cpuProfile     string
	loaded         *policy.Policy
}

// Main runs nestvirt with args (without the program name) and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if a.cpuProfile != "" {
		pprof.StopCPUProfile() // a no-op when profiling never started
	}
	if err != nil {
		var th thresholdError
		if !errors.As(err, &th) {
			a.printError(err)
		}
	}
	return exitCode(err)
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "nestvirt",
		Short: "Judge nested virtualization against Red Hat's documented support limitations",
		Long: `nestvirt makes Red Hat's nested-virtualization support page executable.

  nestvirt check          judge this machine: where it stands, can it nest, how to fix it
  nestvirt plan FILE      judge a planned deployment (L0 host, L1 and L2 guests)
  nestvirt vms            judge every VM of a libvirt host
  nestvirt annotate VM    record what a VM runs inside (for vms)
  nestvirt expose VM      make a VM expose virtualization, keeping its definition
  nestvirt enable         turn nesting on in the KVM module (disable: off)
  nestvirt guard install  a libvirt hook that stops what does not work
  nestvirt snapshot DIR   copy what check reads, for check --root and bug reports
  nestvirt matrix         print the support matrix of the loaded policy
  nestvirt policy lint    validate a policy file

Levels, best to worst: supported, tech-preview, unsupported, untested,
not-expected-to-work, does-not-work. Exit codes: 0 verdict better than --fail-on,
1 verdict at or past it, 2 bad input or usage.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.PersistentFlags().StringVar(&a.policyFile, "policy", "", "load this policy file instead of the embedded RHEL 10 policy")
	root.PersistentFlags().StringVar(&a.color, "color", "auto", "colour output: auto (on a terminal), always, never")
	root.PersistentFlags().StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for performance reports)")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if a.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(a.cpuProfile)
		if err != nil {
			return inputError{err}
		}
		return pprof.StartCPUProfile(f)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return inputError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(a.planCmd(), a.checkCmd(), a.snapshotCmd(), a.vmsCmd(), a.annotateCmd(), a.exposeCmd(false), a.exposeCmd(true), a.enableCmd(true), a.enableCmd(false), a.guardCmd(), a.matrixCmd(), a.policyCmd(), a.versionCmd())
	return root
}

// policy returns the policy chosen by --policy, or the embedded default.
func (a *app) policy() (*policy.Policy, error) {
	if a.loaded != nil {
		return a.loaded, nil
	}
	if a.policyFile == "" {
		a.loaded = policy.Default()
		return a.loaded, nil
	}
	data, err := os.ReadFile(a.policyFile)
	if err != nil {
		return nil, inputError{fmt.Errorf("reading policy: %w", err)}
	}
	p, err := policy.Load(a.policyFile, data)
	if err != nil {
		return nil, inputError{err}
	}
	a.loaded = p
	return p, nil
}

// style decides colours: --color always/never, else only when stdout is a terminal
// and NO_COLOR is unset.
func (a *app) style() (report.Style, error) {
	s := report.Style{}
	f, isFile := a.stdout.(*os.File)
	if isFile && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			s.Width = w
		}
	}
	switch a.color {
	case "always":
		s.Color = true
	case "never":
	case "auto":
		s.Color = isFile && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
	default:
		return s, inputErrorf("--color: unknown value %q (auto, always, never)", a.color)
	}
	return s, nil
}

// failOn checks a verdict against --fail-on.
func failOn(verdict policy.Level, threshold string) error {
	th, err := policy.ParseLevel(threshold)
	if err != nil {
		return inputErrorf("--fail-on: %v", err)
	}
	if verdict >= th {
		return thresholdError{fmt.Sprintf("verdict %s is at or past --fail-on %s", verdict, th)}
	}
	return nil
}

func validateFailOn(threshold string) error {
	if _, err := policy.ParseLevel(threshold); err != nil {
		return inputErrorf("--fail-on: %v", err)
	}
	return nil
}

func (a *app) printError(err error) {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		for _, e := range j.Unwrap() {
			a.printError(e)
		}
		return
	}
	var probs strictyaml.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fmt.Fprintf(a.stderr, "nestvirt: error: %s\n", p.Error())
		}
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(a.stderr, "nestvirt: error: %s\n", line)
	}
}

const formatHelp = "output format: text or json"

// verdictFlags are the output flags of every command that reaches a verdict.
type verdictFlags struct {
	format string
	failOn string
}

func (v *verdictFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.format, "format", "text", formatHelp)
	cmd.Flags().StringVar(&v.failOn, "fail-on", "unsupported", "exit 1 when the verdict is at or past this level")
}

// start validates the verdict flags and returns the output style and the policy,
// before any work is done.
func (a *app) start(v verdictFlags) (report.Style, *policy.Policy, error) {
	if err := checkFormat(v.format, "text", "json"); err != nil {
		return report.Style{}, nil, err
	}
	if err := validateFailOn(v.failOn); err != nil {
		return report.Style{}, nil, err
	}
	style, err := a.style()
	if err != nil {
		return style, nil, err
	}
	p, err := a.policy()
	return style, p, err
}

func checkFormat(f string, allowed ...string) error {
	for _, x := range allowed {
		if f == x {
			return nil
		}
	}
	return inputErrorf("--format: unknown value %q (%s)", f, strings.Join(allowed, ", "))
}

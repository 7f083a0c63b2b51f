// Package cli is nestvirt's command line: each command parses its flags, calls a
// package, and hands the result to a renderer. It is the only layer that writes to
// the terminal or chooses an exit code (exit.go).
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
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/buildinfo"
	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/manual"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/report"
)

// app holds what every command shares: streams, the environment and global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	policyFile     string
	color          string
	cpuProfile     string
	loaded         *policy.Policy
	now            func() time.Time // when a check ran, for formats that say so
	// dial opens a libvirt daemon: libvirt.Connect, or a recorded daemon in tests.
	dial func(libvirt.Options) (daemon, error)
}

func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// Main runs nestvirt with args (without the program name) and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	root := a.rootCmd()
	root.SetArgs(args)
	return mainWith(a, root)
}

// Command is nestvirt's command tree, for the tools that document it
// (tools/gendocs: man pages, shell completions).
func Command() *cobra.Command {
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	return a.rootCmd()
}

// mainWith runs a command tree built for a, and maps its error to an exit code.
func mainWith(a *app, root *cobra.Command) int {
	// Every write to standard output goes through one ErrWriter: an output that
	// could not be written (a full disk, /dev/full, a closed descriptor) is a
	// failure, exit 3, never a verdict or a success.
	if f, ok := a.stdout.(*os.File); ok && reopenedNull(f) {
		a.stdout = closedOutput{}
	}
	out := &report.ErrWriter{W: a.stdout}
	a.stdout = out
	root.SetIn(a.stdin)
	root.SetOut(out)
	root.SetErr(a.stderr)
	err := root.Execute()
	if out.Err != nil && (err == nil || errors.Is(err, out.Err) || exitCode(err) == ExitFindings) {
		err = dependencyError{Err: fmt.Errorf("writing to standard output: %w", out.Err)}
	}
	if a.cpuProfile != "" {
		pprof.StopCPUProfile() // a no-op when profiling never started
	}
	if err != nil && !classified(err) {
		// Commands return classified errors; what is left is cobra's own usage
		// checks (an unknown command, a wrong number of arguments).
		err = inputError{Err: err}
	}
	if err != nil {
		var th thresholdError
		if !errors.As(err, &th) {
			report.Error(a.stderr, err)
		}
	}
	return exitCode(err)
}

// errStdoutClosed is what writing to a standard output that was closed when
// nestvirt started gives.
var errStdoutClosed = errors.New("standard output was closed when nestvirt started (the Go runtime put /dev/null in its place, opened read-write); redirect to >/dev/null to discard the output")

// closedOutput fails every write: what was to be printed went nowhere.
type closedOutput struct{}

func (closedOutput) Write([]byte) (int, error) { return 0, errStdoutClosed }

func classified(err error) bool {
	var (
		th  thresholdError
		ref refusedError
		in  inputError
		dep dependencyError
	)
	return errors.As(err, &th) || errors.As(err, &ref) || errors.As(err, &in) || errors.As(err, &dep)
}

// run wraps a command's work: an error it does not classify is a failed
// dependency (an output that could not be written, a system call that failed).
func run(fn func() error) func(*cobra.Command, []string) error {
	return func(*cobra.Command, []string) error {
		err := fn()
		if err != nil && !classified(err) {
			return dependencyError{Err: err}
		}
		return err
	}
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nestvirt",
		Short:         "Judge nested virtualization against Red Hat's documented support limitations",
		Long:          manual.Long("nestvirt"),
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Line(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
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
			return inputError{Err: err}
		}
		return pprof.StartCPUProfile(f)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return inputError{Err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(a.planCmd(), a.checkCmd(), a.snapshotCmd(), a.vmsCmd(), a.annotateCmd(), a.exposeCmd(false), a.exposeCmd(true),
		a.enableCmd(true), a.enableCmd(false), a.guardCmd(), a.matrixCmd(), a.osCmd(), a.policyCmd(), a.schemaCmd(), a.factsCmd(), a.reportCmd(), a.versionCmd())
	clioptions.CompleteFlags(root)
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
	p, err := policy.LoadFile(a.policyFile)
	if err != nil {
		return nil, inputError{Err: err}
	}
	a.loaded = p
	return p, nil
}

// style decides how text looks (report.TerminalStyle), once --color is checked.
func (a *app) style() (report.Style, error) {
	if err := clioptions.Color.Check(a.color); err != nil {
		return report.Style{}, err
	}
	return report.TerminalStyle(a.stdout, a.getenv, a.color), nil
}

// failOn checks a verdict against --fail-on.
func failOn(verdict policy.Level, threshold string) error {
	if threshold == "never" {
		return nil
	}
	th, err := policy.ParseLevel(threshold)
	if err != nil {
		return inputErrorf("--fail-on: %w", err)
	}
	if verdict >= th {
		return thresholdError{fmt.Sprintf("verdict %s is at or past --fail-on %s", verdict, th)}
	}
	return nil
}

// writeTo renders into stdout, or with --output into the file, atomically: a
// render that fails or a file that cannot be written leaves the previous file.
func (a *app) writeTo(output string, render func(io.Writer) error) error {
	if output == "" {
		return render(a.stdout)
	}
	return report.WriteFile(output, 0o666, render)
}

// start validates the verdict flags and returns the output style and the policy,
// before any work is done.
func (a *app) start(v clioptions.Verdict) (report.Style, *policy.Policy, error) {
	style, err := a.startStyle(v)
	if err != nil {
		return style, nil, err
	}
	p, err := a.policy()
	return style, p, err
}

// startStyle checks the verdict flags and settles the style, for a command that
// loads its policy itself.
func (a *app) startStyle(v clioptions.Verdict) (report.Style, error) {
	if err := v.Check(); err != nil {
		return report.Style{}, err
	}
	return a.style()
}

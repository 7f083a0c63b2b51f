package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/fault"
)

// Exit codes, defined once for every command (README, "Exit codes"); what each
// means is exitMeanings, for the man pages' EXIT STATUS.
const (
	ExitOK         = 0 // the verdict is better than --fail-on, or done
	ExitFindings   = 1 // the verdict is at or past --fail-on, or refused
	ExitInput      = 2 // bad input or usage
	ExitDependency = 3 // something nestvirt depends on failed
)

var exitMeanings = []string{
	ExitOK:         "The verdict is better than --fail-on; an action was done, or there was nothing to do.",
	ExitFindings:   "The verdict is at or past --fail-on; an action was refused by a rule or a safety check (nothing was changed); the guard refused.",
	ExitInput:      "Bad input or usage (a flag, a file, a domain name): nothing was judged or changed. The message names the file, field or line.",
	ExitDependency: "Something nestvirt depends on failed: the libvirt daemon is unreachable or timed out, permission was denied, writing an output failed, or a module reload failed after the file was written (the message says what was changed).",
}

// ExitStatus is what each exit code means, for the man pages' EXIT STATUS.
func ExitStatus() []struct {
	Code    int
	Meaning string
} {
	out := make([]struct {
		Code    int
		Meaning string
	}, len(exitMeanings))
	for code, m := range exitMeanings {
		out[code].Code, out[code].Meaning = code, m
	}
	return out
}

// The kinds of failure (package fault), by the names the commands use.
type (
	inputError      = fault.Input      // what the user gave: exit 2
	dependencyError = fault.Dependency // something nestvirt relies on: exit 3
	refusedError    = fault.Refused    // refused by a rule or a safety check: exit 1
)

func inputErrorf(format string, args ...any) error { return fault.Inputf(format, args...) }

// thresholdError reports a verdict at or past --fail-on, or a refusal; its output
// was already written.
type thresholdError struct{ msg string }

func (e thresholdError) Error() string { return e.msg }

// exitCode maps an error to the process exit code. An error nestvirt did not
// classify is treated as a failed dependency, never as a verdict.
func exitCode(err error) int {
	var (
		th  thresholdError
		ref refusedError
		in  inputError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &th), errors.As(err, &ref):
		return ExitFindings
	case errors.As(err, &in):
		// A tree whose symlinks lead out of it among them (fsroot.ErrEscapes).
		return ExitInput
	default:
		return ExitDependency
	}
}

// noArgs refuses arguments to a command that takes none, naming the command
// (cobra.NoArgs says "unknown command", as if the word were a subcommand).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return inputErrorf("%s takes no arguments (got %q); see %s --help", cmd.CommandPath(), args[0], cmd.CommandPath())
	}
	return nil
}

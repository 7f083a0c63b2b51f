package cli

import (
	"errors"
	"fmt"
)

// Exit codes, defined once for every command.
const (
	ExitOK       = 0 // verdict better than --fail-on, or nothing to judge
	ExitFindings = 1 // verdict at or past --fail-on
	ExitInput    = 2 // bad input or usage: nothing was judged
)

// inputError marks an error caused by what the user gave (a file, a flag, a domain).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func inputErrorf(format string, args ...any) error {
	return inputError{fmt.Errorf(format, args...)}
}

// thresholdError reports a verdict at or past --fail-on; its output was already written.
type thresholdError struct{ msg string }

func (e thresholdError) Error() string { return e.msg }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var th thresholdError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &th):
		return ExitFindings
	default:
		// Usage mistakes, bad input and unreadable sources all mean "nothing judged".
		return ExitInput
	}
}

// Package fault names what kind of failure an error is, so that the package
// that finds a failure says what it is and the command layer alone turns the
// kind into an exit code (defined once there; found with errors.As anywhere in
// the chain, a refusal before bad input). An error no kind marks is a failed
// dependency: never a verdict, and never the user's fault by default.
package fault

import (
	"errors"
	"fmt"
)

// Input is a failure caused by what was given: a flag's value, a file, a
// domain's name. Nothing was judged or changed.
type Input struct{ Err error }

// Refused is a change refused by a rule or a safety check: nothing was changed.
type Refused struct{ Err error }

// Dependency is a failure of something nestvirt relies on: the libvirt daemon,
// a file system, a module reload.
type Dependency struct{ Err error }

func (e Input) Error() string      { return e.Err.Error() }
func (e Input) Unwrap() error      { return e.Err }
func (e Refused) Error() string    { return e.Err.Error() }
func (e Refused) Unwrap() error    { return e.Err }
func (e Dependency) Error() string { return e.Err.Error() }
func (e Dependency) Unwrap() error { return e.Err }

// Inputf is an Input error with fmt.Errorf's message (and its %w wrapping).
func Inputf(format string, args ...any) error { return Input{fmt.Errorf(format, args...)} }

// Marked says whether err, or an error it wraps, is marked with a kind.
func Marked(err error) bool {
	return errors.As(err, new(Input)) || errors.As(err, new(Refused)) || errors.As(err, new(Dependency))
}

package clioptions

import (
	"errors"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/inspect"
)

// A flag's value is checked against the one list that also completes it; a
// wrong value is bad input naming the flag and every value it takes.
func TestChecksNameTheFlagAndItsValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"a known value", Hyperv.Check("on"), ""},
		{"an unknown value", Hyperv.Check("maybe"), `--hyperv: unknown value "maybe" (auto, on, off)`},
		{"never", CheckFailOn("never"), ""},
		{"a level", CheckFailOn("tech-preview"), ""},
		{"not a level", CheckFailOn("bad"), "--fail-on"},
		{"a format of the command", Verdict{Format: "json", Formats: []string{"text", "json"}, FailOn: "unsupported"}.Check(), ""},
		{"a format of another command", Verdict{Format: "nfd", Formats: []string{"text", "json"}, FailOn: "unsupported"}.Check(), `--format: unknown value "nfd" (text, json)`},
		{"a bad --fail-on with a good format", Verdict{Format: "text", Formats: []string{"text"}, FailOn: "worst"}.Check(), "--fail-on"},
		{"nothing stated", Stated{}.Check(), ""},
		{"a stated value", Stated{inspect.Statements{Migrates: "no"}}.Check(), ""},
		{"a stated value that is not one", Stated{inspect.Statements{Migrates: "perhaps"}}.Check(), `--migrates: unknown value "perhaps" (yes, no)`},
	} {
		switch {
		case tt.want == "" && tt.err != nil:
			t.Errorf("%s: %v", tt.name, tt.err)
		case tt.want != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) || !errors.As(tt.err, new(fault.Input))):
			t.Errorf("%s: %v, want bad input with %q", tt.name, tt.err, tt.want)
		}
	}
}

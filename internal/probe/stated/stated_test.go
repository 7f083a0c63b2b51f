package stated

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// TestStatedFactsComeFromHostYAML: what only the admin can say, with the line it
// was said on; a mistake names the file, line and key, and nothing is half-read.
func TestStatedFactsComeFromHostYAML(t *testing.T) {
	tests := []struct {
		doc       string
		migration string // "", "true", "false"
		l0        string
		from      string
		err       string
	}{
		{"migration: false\nl0:\n  os: rhel10.0\n", "false", "rhel10.0", "l0.os: h.yaml:3", ""},
		{"migration: true\n", "true", "", "migration: h.yaml:1", ""},
		{"l0:\n  os: RHEL-10.1\n", "", "rhel10.1", "l0.os: h.yaml:2", ""},
		{"# nothing stated\n{}\n", "", "", "", ""},
		{"migration: yes\n", "", "", "", "h.yaml:1:12: migration: must be true or false"},
		{"migrate: true\n", "", "", "", `h.yaml:1:1: migrate: unknown key "migrate"; did you mean "migration"?`},
		{"l0:\n  os: rhel\n", "", "", "", "h.yaml:2:7: l0.os: "},
		{"l0: rhel10.0\n", "", "", "", "h.yaml:1:5: l0: must be a mapping, not a string"},
		{"", "", "", "", "h.yaml: empty document"},
	}
	for _, tt := range tests {
		s, err := Parse("h.yaml", []byte(tt.doc))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %v, want %q", tt.doc, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.doc, err)
			continue
		}
		var m string
		if s.Migration != nil {
			m = map[bool]string{true: "true", false: "false"}[*s.Migration]
		}
		if m != tt.migration || probe.Str(s.L0OS) != tt.l0 || (tt.from != "" && !strings.Contains(strings.Join(s.From, " "), tt.from)) {
			t.Errorf("%q: migration %q, l0 %q, from %q", tt.doc, m, probe.Str(s.L0OS), s.From)
		}
	}
}

func FuzzParseStated(f *testing.F) {
	f.Add([]byte("migration: false\nl0:\n  os: rhel10.0\n"))
	f.Add([]byte("l0: &a {os: *a}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("h.yaml", data)
		if err == nil && s.From == nil {
			t.Fatal("no From on success")
		}
	})
}

// A host.yaml that is not valid is bad input wherever it surfaces (exit 2),
// and stays an *Error for what tells it apart.
func TestAnInvalidHostYAMLIsBadInput(t *testing.T) {
	err := fmt.Errorf("reading the remote host: %w", &Error{Err: errors.New("host.yaml:3: migration: not yes or no")})
	var in fault.Input
	if !errors.As(err, &in) || !strings.Contains(in.Error(), "host.yaml:3") {
		t.Errorf("not bad input: %v", err)
	}
	if !errors.As(err, new(*Error)) {
		t.Errorf("not an *Error: %v", err)
	}
}

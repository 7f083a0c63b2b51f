package cli

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/clioptions"
	"github.com/spf13/cobra"
)

// complete runs the shell's completion request, as bash/zsh/fish do, and returns
// the candidates and the directive.
func complete(t *testing.T, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	out, stderr, code := nv(t, "", append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if code != ExitOK {
		t.Fatalf("__complete %q: exit %d: %s", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	var d int
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("no directive in %q", out)
	}
	for _, c := range last[1:] {
		d = d*10 + int(c-'0')
	}
	return lines[:len(lines)-1], cobra.ShellCompDirective(d)
}

func TestCompletionOfValues(t *testing.T) {
	nofile := cobra.ShellCompDirectiveNoFileComp
	for _, tc := range []struct {
		args      []string
		want      []string // exactly these, in this order
		contains  []string // at least these
		directive cobra.ShellCompDirective
	}{
		{args: []string{"check", "--fail-on", ""}, want: []string{"supported", "tech-preview", "unsupported", "untested", "not-expected-to-work", "does-not-work", "never"}, directive: nofile},
		{args: []string{"plan", "--fail-on", "un"}, want: []string{"supported", "tech-preview", "unsupported", "untested", "not-expected-to-work", "does-not-work", "never"}, directive: nofile}, // the shell filters
		{args: []string{"check", "--format", ""}, want: []string{"text", "json", "prometheus", "nfd"}, directive: nofile},
		{args: []string{"plan", "--format", ""}, want: []string{"text", "json"}, directive: nofile},
		{args: []string{"vms", "--format", ""}, want: []string{"text", "json"}, directive: nofile},
		{args: []string{"matrix", "--format", ""}, want: []string{"text", "json"}, directive: nofile},
		{args: []string{"check", "--migrates", ""}, want: []string{"yes", "no"}, directive: nofile},
		{args: []string{"vms", "--migrates", ""}, want: []string{"yes", "no"}, directive: nofile},
		{args: []string{"--color", ""}, want: []string{"auto", "always", "never"}, directive: nofile},
		{args: []string{"guard", "install", "--mode", ""}, want: []string{"enforce", "warn"}, directive: nofile},
		{args: []string{"expose", "--hyperv", ""}, want: []string{"auto", "on", "off"}, directive: nofile},
		{args: []string{"expose", "--vendor", ""}, want: []string{"intel", "amd"}, directive: nofile},
		{args: []string{"annotate", "vm", "--runs", ""}, want: []string{"kvm", "hyper-v", "wsl2", "none"}, directive: nofile},
		{args: []string{"schema", ""}, want: []string{"check", "matrix", "plan", "vms"}, directive: nofile},
		{args: []string{"schema", "check", ""}, want: nil, directive: nofile},
		{args: []string{"policy", "show", ""}, want: []string{"rhel-10.yaml"}, directive: nofile},
		{args: []string{"check", "--l0-os", "rhel10"}, contains: []string{"rhel10.0", "rhel10.1"}, directive: nofile},
		{args: []string{"annotate", "vm", "--os", "win1"}, contains: []string{"win10", "win11"}, directive: nofile},
		{args: []string{"annotate", "vm", "--l2", "rhel10.0,ubuntu24"}, contains: []string{"rhel10.0,ubuntu24.04"}, directive: nofile | cobra.ShellCompDirectiveNoSpace},
		{args: []string{"--policy", ""}, want: []string{"yaml", "yml"}, directive: cobra.ShellCompDirectiveFilterFileExt},
		{args: []string{"check", "--policy", ""}, want: []string{"yaml", "yml"}, directive: cobra.ShellCompDirectiveFilterFileExt},
		{args: []string{"plan", ""}, want: []string{"yaml", "yml", "json"}, directive: cobra.ShellCompDirectiveFilterFileExt},
		{args: []string{"report", ""}, want: []string{"json"}, directive: cobra.ShellCompDirectiveFilterFileExt},
		{args: []string{"check", "--root", ""}, want: nil, directive: cobra.ShellCompDirectiveFilterDirs},
		{args: []string{"snapshot", ""}, want: nil, directive: cobra.ShellCompDirectiveFilterDirs},
		{args: []string{"enable", "--root", ""}, want: nil, directive: cobra.ShellCompDirectiveFilterDirs},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, d := complete(t, tc.args...)
			if tc.want != nil || tc.contains == nil {
				if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			}
			for _, c := range tc.contains {
				if !slices.Contains(got, c) {
					t.Errorf("%q not in %q", c, got)
				}
			}
			if prefix := tc.args[len(tc.args)-1]; tc.contains != nil {
				for _, g := range got {
					if !strings.HasPrefix(g, prefix) {
						t.Errorf("%q does not start with %q", g, prefix)
					}
				}
			}
			if d != tc.directive {
				t.Errorf("directive %d, want %d", d, tc.directive)
			}
		})
	}
}

// The values a flag completes are the values it takes: each completed value is
// accepted, and a value outside the list is refused naming them.
func TestCompletedValuesAreTheAcceptedOnes(t *testing.T) {
	for _, c := range []clioptions.Choice{clioptions.Color, clioptions.Migrates, clioptions.Hyperv, clioptions.Vendor, clioptions.Mode, clioptions.Runs, {Flag: "fail-on", Values: clioptions.FailOnValues()}} {
		for _, v := range c.Values {
			if err := c.Check(v); err != nil {
				t.Errorf("%s %s: %v", c.Flag, v, err)
			}
		}
		if err := c.Check("bogus"); err == nil || !strings.Contains(err.Error(), "--"+c.Flag) {
			t.Errorf("%s: bogus accepted or unnamed: %v", c.Flag, err)
		}
	}
	for _, v := range clioptions.FailOnValues() {
		if err := clioptions.CheckFailOn(v); err != nil {
			t.Errorf("--fail-on %s completes but is refused: %v", v, err)
		}
	}
}

// Domain names are asked from libvirt; an unreachable daemon gives none, quickly,
// and no error on the user's prompt.
func TestCompletionOfDomainsWithoutADaemon(t *testing.T) {
	for _, cmd := range []string{"expose", "unexpose", "annotate"} {
		start := time.Now()
		got, d := complete(t, cmd, "-c", "qemu:///system?socket=/nonexistent/libvirt-sock", "")
		if len(got) != 0 || d != cobra.ShellCompDirectiveNoFileComp {
			t.Errorf("%s: %q %d", cmd, got, d)
		}
		if el := time.Since(start); el > clioptions.CompletionTimeout+time.Second {
			t.Errorf("%s: took %v", cmd, el)
		}
	}
}

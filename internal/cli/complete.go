package cli

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/expose"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// choice is a flag that takes one of a few values: the one list both validates
// the flag and completes it, so the two cannot drift apart.
type choice struct {
	flag   string
	values []string
}

var (
	colorChoice    = choice{"color", []string{"auto", "always", "never"}}
	migratesChoice = choice{"migrates", []string{"yes", "no"}}
	hypervChoice   = choice{"hyperv", []string{"auto", "on", "off"}}
	vendorChoice   = choice{"vendor", []string{"intel", "amd"}}
	modeChoice     = choice{"mode", []string{guard.Enforce, guard.Warn}}
	runsChoice     = choice{"runs", expose.GuestRuns}
	reportFormat   = choice{"format", []string{"html", "csv"}}
)

// check returns an input error naming the flag and its values for anything else.
func (c choice) check(v string) error {
	if slices.Contains(c.values, v) {
		return nil
	}
	return inputErrorf("--%s: unknown value %q (%s)", c.flag, v, strings.Join(c.values, ", "))
}

// complete registers the values as the flag's completions on cmd.
func (c choice) complete(cmd *cobra.Command) {
	must(cmd.RegisterFlagCompletionFunc(c.flag, cobra.FixedCompletions(c.values, cobra.ShellCompDirectiveNoFileComp)))
}

// failOnValues are --fail-on's values: the policy's levels, best first, then never.
func failOnValues() []string { return append(policy.LevelNames(), "never") }

// completeOS completes an OS name (for a flag that takes a list, the element
// after the last comma), from the names 'nestvirt os list' shows.
func completeOS(list bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		head, last := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); list && i >= 0 {
			head, last = toComplete[:i+1], toComplete[i+1:]
		}
		var out []cobra.Completion
		for _, o := range plan.KnownOS() {
			if strings.HasPrefix(o.ID, last) {
				out = append(out, head+o.ID)
			}
		}
		d := cobra.ShellCompDirectiveNoFileComp
		if list {
			d |= cobra.ShellCompDirectiveNoSpace // the user may add ",next"
		}
		return out, d
	}
}

// completionTimeout bounds asking libvirt for domain names while the user waits
// at a prompt: a slow daemon gives no names rather than a frozen shell.
const completionTimeout = 2 * time.Second

// completeDomain completes a libvirt domain name, asked read-only from the daemon
// the command would use; when it cannot be asked, quietly nothing.
func completeDomain(c *connectFlags) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cf := *c
		cf.timeout = min(cf.timeout, completionTimeout)
		conn, err := cf.connect(true)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer conn.Close()
		ds, err := conn.Domains()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, d := range ds {
			if strings.HasPrefix(d.Name, toComplete) {
				out = append(out, d.Name)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeFlags gives every command's flags their completions, by flag name:
// one name means one kind of value throughout nestvirt.
func completeFlags(root *cobra.Command) {
	must(root.MarkPersistentFlagFilename("policy", "yaml", "yml"))
	colorChoice.complete(root)
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		// The flags this command defines itself, not those it inherits; the set
		// is built once per command (a call builds a new one).
		local := cmd.LocalNonPersistentFlags()
		has := func(name string) bool {
			return local.Lookup(name) != nil || cmd.PersistentFlags().Lookup(name) != nil
		}
		for _, c := range []choice{migratesChoice, hypervChoice, vendorChoice, modeChoice, runsChoice} {
			if has(c.flag) {
				c.complete(cmd)
			}
		}
		if has("fail-on") {
			choice{"fail-on", failOnValues()}.complete(cmd)
		}
		for _, name := range []string{"root", "host-root", "hooks-dir", "fact-path"} {
			if has(name) {
				must(cmd.MarkFlagDirname(name))
			}
		}
		for _, name := range []string{"l0-os", "os"} {
			if has(name) {
				must(cmd.RegisterFlagCompletionFunc(name, completeOS(false)))
			}
		}
		if has("l2") {
			must(cmd.RegisterFlagCompletionFunc("l2", completeOS(true)))
		}
		if has("arch") {
			must(cmd.RegisterFlagCompletionFunc("arch", cobra.FixedCompletions(expose.Arches, cobra.ShellCompDirectiveNoFileComp)))
		}
		if has("connect") {
			must(cmd.RegisterFlagCompletionFunc("connect", cobra.FixedCompletions([]string{"qemu:///system", "qemu:///session", "test:///default"}, cobra.ShellCompDirectiveNoFileComp)))
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// must panics on a programming error: a completion registered for a flag the
// command does not have, or twice. Tests build the whole tree, so it never ships.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// completeFiles completes files with these extensions (and directories to walk into).
func completeFiles(exts ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

// completeDir completes one directory argument.
func completeDir(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// completeOne completes a single argument from a fixed list.
func completeOne(values func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return values(), cobra.ShellCompDirectiveNoFileComp
	}
}

// Package clioptions holds the flags nestvirt's commands share, as kubectl's
// genericclioptions does: each group's flags declared once, their values
// checked and completed from one list, and turned into what the application
// packages take (a libvirt daemon to dial, an output format, what the admin
// states). The commands (internal/cli) add the groups they need.
package clioptions

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/audit"
	"github.com/nestvirt/nestvirt/internal/expose"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// Choice is a flag that takes one of a few values: the one list both validates
// the flag and completes it, so the two cannot drift apart.
type Choice struct {
	Flag   string
	Values []string
}

var (
	Color        = Choice{Flag: "color", Values: []string{"auto", "always", "never"}}
	Migrates     = Choice{Flag: "migrates", Values: []string{"yes", "no"}}
	Hyperv       = Choice{Flag: "hyperv", Values: []string{"auto", "on", "off"}}
	Vendor       = Choice{Flag: "vendor", Values: []string{"intel", "amd"}}
	Mode         = Choice{Flag: "mode", Values: []string{guard.Enforce, guard.Warn}}
	Runs         = Choice{Flag: "runs", Values: expose.GuestRuns}
	ReportFormat = Choice{Flag: "format", Values: []string{"html", "csv"}}
)

// Check returns an input error naming the flag and its values for anything else.
func (c Choice) Check(v string) error {
	if slices.Contains(c.Values, v) {
		return nil
	}
	return fault.Inputf("--%s: unknown value %q (%s)", c.Flag, v, strings.Join(c.Values, ", "))
}

// Complete registers the values as the flag's completions on cmd.
func (c Choice) Complete(cmd *cobra.Command) {
	Must(cmd.RegisterFlagCompletionFunc(c.Flag, cobra.FixedCompletions(c.Values, cobra.ShellCompDirectiveNoFileComp)))
}

// FailOnValues are --fail-on's values: the policy's levels, best first, then never.
func FailOnValues() []string { return append(policy.LevelNames(), "never") }

// CompleteOS completes an OS name (for a flag that takes a list, the element
// after the last comma), from the names 'nestvirt os list' shows.
func CompleteOS(list bool) cobra.CompletionFunc {
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

// CompletionTimeout bounds asking libvirt for domain names while the user waits
// at a prompt: a slow daemon gives no names rather than a frozen shell.
const CompletionTimeout = 2 * time.Second

// CompleteDomain completes a libvirt domain name, asked read-only from the libvirt.Daemon
// the command would use; when it cannot be asked, quietly nothing.
func CompleteDomain(c *Connect) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		cf := *c
		cf.Timeout = min(cf.Timeout, CompletionTimeout)
		conn, err := cf.Open(true)
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

// CompleteFlags gives every command's flags their completions, by flag name:
// one name means one kind of value throughout nestvirt.
func CompleteFlags(root *cobra.Command) {
	Must(root.MarkPersistentFlagFilename("policy", "yaml", "yml"))
	Color.Complete(root)
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		// The flags this command defines itself, not those it inherits; the set
		// is built once per command (a call builds a new one).
		local := cmd.LocalNonPersistentFlags()
		has := func(name string) bool {
			return local.Lookup(name) != nil || cmd.PersistentFlags().Lookup(name) != nil
		}
		for _, c := range []Choice{Migrates, Hyperv, Vendor, Mode, Runs} {
			if has(c.Flag) {
				c.Complete(cmd)
			}
		}
		if has("fail-on") {
			Choice{Flag: "fail-on", Values: FailOnValues()}.Complete(cmd)
		}
		for _, name := range []string{"root", "host-root", "hooks-dir", "fact-path"} {
			if has(name) {
				Must(cmd.MarkFlagDirname(name))
			}
		}
		for _, name := range []string{"l0-os", "os"} {
			if has(name) {
				Must(cmd.RegisterFlagCompletionFunc(name, CompleteOS(false)))
			}
		}
		if has("l2") {
			Must(cmd.RegisterFlagCompletionFunc("l2", CompleteOS(true)))
		}
		if has("arch") {
			Must(cmd.RegisterFlagCompletionFunc("arch", cobra.FixedCompletions(expose.Arches, cobra.ShellCompDirectiveNoFileComp)))
		}
		if has("connect") {
			Must(cmd.RegisterFlagCompletionFunc("connect", cobra.FixedCompletions([]string{"qemu:///system", "qemu:///session", "test:///default"}, cobra.ShellCompDirectiveNoFileComp)))
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// Must panics on a programming error: a completion registered for a flag the
// command does not have, or twice. Tests build the whole tree, so it never ships.
func Must(err error) {
	if err != nil {
		panic(err)
	}
}

// CompleteFiles completes files with these extensions (and directories to walk into).
func CompleteFiles(exts ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}

// CompleteDir completes one directory argument.
func CompleteDir(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// CompleteOne completes a single argument from a fixed list.
func CompleteOne(values func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return values(), cobra.ShellCompDirectiveNoFileComp
	}
}

func CheckFailOn(threshold string) error {
	if threshold == "never" {
		return nil
	}
	if _, err := policy.ParseLevel(threshold); err != nil {
		return fault.Inputf("--fail-on: %w, or never", err)
	}
	return nil
}

const FormatHelp = "output format: text or json"

// Verdict are the output flags of every command that reaches a verdict.
type Verdict struct {
	Format  string
	Formats []string // what --format takes for this command
	FailOn  string
	Quiet   bool
	Output  string
}

// Add adds the output flags, --fail-on and --quiet; formats as AddFormat.
func (v *Verdict) Add(cmd *cobra.Command, help string, formats ...string) {
	v.AddFormat(cmd, help, formats...)
	cmd.Flags().StringVar(&v.FailOn, "fail-on", "unsupported", "exit 1 when the verdict is at or past this level ('supported' fails on every verdict, 'never' on none): "+strings.Join(FailOnValues(), ", "))
	cmd.Flags().BoolVarP(&v.Quiet, "quiet", "q", false, "print only what needs action")
}

// AddFormat adds --format (with its help; text and json when no formats are
// named) and --output.
func (v *Verdict) AddFormat(cmd *cobra.Command, help string, formats ...string) {
	if len(formats) == 0 {
		formats = []string{"text", "json"}
	}
	v.Formats = formats
	cmd.Flags().StringVar(&v.Format, "format", "text", help)
	cmd.Flags().StringVarP(&v.Output, "output", "o", "", "write to this file instead of stdout, atomically (a temporary file in its directory, synced, renamed over it; a new file's mode follows the umask)")
	Choice{Flag: "format", Values: formats}.Complete(cmd)
}

// ForPrograms reports whether a format is read by programs: it then carries a
// command's failure inside its document, so no run leaves an empty file.
func ForPrograms(format string) bool { return format != "text" }

// Connect say which libvirt libvirt.Daemon to ask and how long to wait.
type Connect struct {
	Dial    func(libvirt.Options) (libvirt.Daemon, error)
	URI     string
	Timeout time.Duration
	// Agent: ask running domains' guest agents which OS they run (vms).
	Agent bool
}

// Add adds --connect and --timeout; dial opens the daemon they name.
func (c *Connect) Add(cmd *cobra.Command, dial func(libvirt.Options) (libvirt.Daemon, error)) {
	c.Dial = dial
	cmd.Flags().StringVarP(&c.URI, "connect", "c", libvirt.DefaultURI, "libvirt URI, as virsh -c (qemu:///system, test:///default, qemu+tcp://host/system)")
	cmd.Flags().DurationVar(&c.Timeout, "timeout", libvirt.DefaultTimeout, "give up on a libvirt call that takes longer than this")
}

// AddAgent adds --guest-agent, for the commands that audit VMs.
func (c *Connect) AddAgent(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&c.Agent, "guest-agent", false, "also ask the QEMU guest agent of each running domain which OS it runs, on a read-write connection (libvirt refuses it read-only); its answer can make a verdict worse, never better")
}

// Open opens the daemon; a daemon that cannot be reached is a failed
// dependency, a URI that is not one is bad input.
func (c Connect) Open(readOnly bool) (libvirt.Daemon, error) {
	return c.Dial(libvirt.Options{URI: c.URI, ReadOnly: readOnly, Timeout: c.Timeout})
}

// Audit is o with the daemon c names, for audit.Run.
func (c Connect) Audit(o audit.Options) audit.Options {
	o.Dial = func(lo libvirt.Options) (audit.Daemon, error) { return c.Dial(lo) }
	o.URI, o.Timeout, o.Agents = c.URI, c.Timeout, c.Agent
	return o
}

// Stated let the admin state what cannot be read, over /etc/nestvirt/host.yaml.
type Stated struct{ inspect.Statements }

func (s *Stated) Add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.Migrates, "migrates", "", "whether this host's VMs are live-migrated: yes or no (default: migration: in "+"/"+inspect.HostConfig+", else unknown)")
	cmd.Flags().StringVar(&s.L0OS, "l0-os", "", "inside a guest: the OS of the L0 host below it, which cannot be seen from here (rhel10.0)")
}

// Check checks the values stated.
func (s Stated) Check() error {
	if s.Migrates != "" {
		return Migrates.Check(s.Migrates)
	}
	return nil
}

// Check checks --format against the command's formats and --fail-on.
func (v Verdict) Check() error {
	if err := (Choice{Flag: "format", Values: v.Formats}).Check(v.Format); err != nil {
		return err
	}
	return CheckFailOn(v.FailOn)
}

// Package guard decides, inside libvirt's QEMU hook, whether an operation on a
// domain may go on: it refuses what the rules mark `guard: refuse` (an incoming
// migration to an AMD host with nesting on, which corrupts rather than fails; a
// guest backed by huge pages on an IBM Z host with nesting on), and warns about
// the rest. Decisions come from the same policy and the same chains as `vms`.
package guard

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Modes.
const (
	Enforce = "enforce" // refuse what does not work
	Warn    = "warn"    // log it, never block
)

// Input is one hook call: libvirt's arguments, the domain XML it passes on stdin,
// and this host's facts.
type Input struct {
	Domain, Op, SubOp string
	XML               []byte
	XMLTooLarge       bool
	Facts             probe.Facts
	// FactsErr says what could not be read of this host: a host.yaml that is
	// not valid (its statements are ignored, the probed facts still decide),
	// or a root that could not be opened (nothing is known).
	FactsErr   string
	Mode       string
	FailClosed bool // refuse when the guard cannot read what it needs
}

// Decision is the guard's answer.
type Decision struct {
	Allow   bool
	Judged  bool   // false for operations the guard does not look at
	Rule    string // the rule that decided, if any
	Message string // for the user (libvirt shows the hook's stderr on failure)
	Log     string // one line for syslog/journalctl
	// CannotJudge says why the guard could not judge (what it needs could not
	// be read); "" when it judged.
	CannotJudge string
}

// Record says the decision where it is kept: its line in syslog (journalctl -t
// nestvirt-guard), its message on stderr, which libvirt logs and shows when
// the hook refuses; the line on stderr too when it is the only record (no
// message, or no syslog to take it). Nothing goes to stdout: for a migration,
// libvirt would read it as a replacement domain XML.
func (d Decision) Record(stderr io.Writer) {
	logged := Syslog("nestvirt-guard", d.Log, 500*time.Millisecond) == nil
	if d.Message != "" {
		fmt.Fprintln(stderr, d.Message)
	}
	if d.Judged && (d.Message == "" || !logged) {
		fmt.Fprintln(stderr, d.Log)
	}
}

// judged lists the operations (with their sub-operation) the guard looks at:
// before a guest starts, before it is restored, and on the destination of an
// incoming migration.
func judged(op, sub string) bool {
	switch op {
	case "prepare", "start", "restore", "migrate":
		return sub == "begin"
	}
	return false
}

// Decide applies the policy to one hook call.
// DecisionBudget is how long the hook may take to decide; past it, it allows the
// operation (fail open) or refuses it (fail closed), and says so.
const DecisionBudget = 2 * time.Second

// Within decides with decide, or, when it takes longer than budget, allows the
// operation (fail open) or refuses it (in.FailClosed), saying so: libvirt waits
// for the hook, and a start must not hang on nestvirt.
func Within(budget time.Duration, in Input, decide func() Decision) Decision {
	done := make(chan Decision, 1)
	go func() { done <- decide() }()
	select {
	case d := <-done:
		return d
	case <-time.After(budget):
		verb := "allowing (fail open)"
		if in.FailClosed {
			verb = "refusing (fail closed)"
		}
		msg := fmt.Sprintf("nestvirt-guard: domain=%q op=%s/%s: no decision within %s; %s", in.Domain, in.Op, in.SubOp, budget, verb)
		return Decision{Allow: !in.FailClosed, Judged: true, Message: msg, Log: msg, CannotJudge: fmt.Sprintf("no decision within %s", budget)}
	}
}

func Decide(p *policy.Policy, in Input) Decision {
	mode := in.Mode
	if mode != Warn {
		mode = Enforce
	}
	logf := func(decision, rule, msg string) string {
		if in.FactsErr != "" {
			msg += " [host facts: " + shorten(in.FactsErr) + "]"
		}
		return fmt.Sprintf("nestvirt-guard: domain=%q op=%s/%s mode=%s decision=%s rule=%s: %s", in.Domain, in.Op, in.SubOp, mode, decision, cmp.Or(rule, "-"), msg)
	}
	if !judged(in.Op, in.SubOp) {
		return Decision{Allow: true, Log: logf("allow", "", "operation not judged")}
	}
	unknown := func(why string) Decision {
		if in.FailClosed {
			msg := "nestvirt guard (fail-closed) cannot judge this: " + why
			return Decision{Allow: false, Judged: true, Message: msg, Log: logf("refuse", "", msg), CannotJudge: why}
		}
		return Decision{Allow: true, Judged: true, Log: logf("allow", "", "cannot judge ("+why+"); allowing, as fail-closed is off"), CannotJudge: why}
	}
	if in.XMLTooLarge {
		return unknown(fmt.Sprintf("the domain XML on stdin is larger than %d MiB", domxml.MaxSize>>20))
	}
	f := in.Facts
	if f.Arch == nil {
		if in.FactsErr != "" {
			return unknown("this host's facts could not be read: " + shorten(in.FactsErr))
		}
		return unknown("this host's architecture is unknown")
	}
	vm, err := domxml.ReadVM(in.XML, judge.HostCPU(f), nil)
	if err != nil {
		return unknown("the domain XML on stdin does not parse: " + shorten(err.Error()))
	}
	if vm.Name == "" {
		vm.Name = in.Domain
	}
	pos := judge.PositionOf(f)
	// The operation says whether VMs migrate. On the L0, an incoming migration is
	// a migration of its VMs. On a guest, it is this host's own, and the L0 below
	// (the chain's l0, which the page's migration limitation is about) migrates
	// nothing in it: whatever the L0 does, this operation is not that.
	pos.L0.Migration = pos.L0.Seen && in.Op == "migrate"
	pos.Unknown = without(pos.Unknown, "l0.migration")
	res, err := p.JudgeChains(pos.Chains(vm))
	if err != nil {
		return unknown("policy: " + err.Error())
	}
	var warn *policy.Finding
	for _, ch := range res {
		for i := range ch.Findings {
			fd := &ch.Findings[i]
			if fd.Informational || fd.Level <= policy.Unsupported {
				continue
			}
			if fd.Guard == "refuse" && fd.Undetermined {
				return unknown(fmt.Sprintf("rule %s depends on %s, which cannot be read", fd.Rule, strings.Join(fd.Unknown, ", ")))
			}
			if fd.Guard == "refuse" {
				msg := fmt.Sprintf("nestvirt guard refuses %s of %s: %s (%s) Remedy: %s Source: %s", opName(in.Op), vm.Name, fd.Message, fd.Rule, fd.Remedy, fd.Source)
				if mode == Warn {
					return Decision{Allow: true, Judged: true, Rule: fd.Rule, Message: "warning: " + msg, Log: logf("warn", fd.Rule, fd.Message)}
				}
				return Decision{Allow: false, Judged: true, Rule: fd.Rule, Message: msg, Log: logf("refuse", fd.Rule, fd.Message)}
			}
			if warn == nil && !fd.Undetermined {
				warn = fd
			}
		}
	}
	if warn != nil {
		msg := fmt.Sprintf("warning: %s (%s, %s); the guard does not block it", warn.Message, warn.Rule, warn.Level)
		return Decision{Allow: true, Judged: true, Rule: warn.Rule, Message: msg, Log: logf("warn", warn.Rule, warn.Message)}
	}
	return Decision{Allow: true, Judged: true, Log: logf("allow", "", "nothing the rules refuse")}
}

func without(list []string, x string) []string {
	var out []string
	for _, s := range list {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

func opName(op string) string {
	switch op {
	case "migrate":
		return "the incoming migration"
	case "restore":
		return "the restore"
	}
	return "the start"
}

func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return strings.ReplaceAll(s, "\n", " ")
}

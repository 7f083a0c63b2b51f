// Package guard decides, inside libvirt's QEMU hook, whether an operation on a
// domain may go on: it refuses what the rules say does not work and fails
// silently instead (an incoming migration to an AMD host with nesting on, a guest
// backed by huge pages on an IBM Z host with nesting on), and warns where guests
// would be L3. Decisions come from the same policy as check and plan.
package guard

import (
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/nestvirt/nestvirt/internal/libvirt"
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
	Facts             probe.Facts
	Mode              string
	FailClosed        bool // refuse when the guard cannot read what it needs
}

// Decision is the guard's answer.
type Decision struct {
	Allow   bool
	Judged  bool   // false for operations the guard does not look at
	Rule    string // the rule that decided, if any
	Message string // for the user (libvirt shows the hook's stderr on failure)
	Log     string // one line for syslog/journalctl
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
func Decide(p *policy.Policy, in Input) Decision {
	mode := in.Mode
	if mode != Warn {
		mode = Enforce
	}
	logf := func(decision, rule, msg string) string {
		return fmt.Sprintf("nestvirt-guard: domain=%q op=%s/%s mode=%s decision=%s rule=%s: %s", in.Domain, in.Op, in.SubOp, mode, decision, orDash(rule), msg)
	}
	if !judged(in.Op, in.SubOp) {
		return Decision{Allow: true, Log: logf("allow", "", "operation not judged")}
	}
	unknown := func(why string) Decision {
		if in.FailClosed {
			msg := "nestvirt guard (fail-closed) cannot judge this: " + why
			return Decision{Allow: false, Judged: true, Message: msg, Log: logf("refuse", "", msg)}
		}
		return Decision{Allow: true, Judged: true, Log: logf("allow", "", "cannot judge ("+why+"); allowing, as fail-closed is off")}
	}
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(string(in.XML)); err != nil {
		return unknown("the domain XML on stdin does not parse: " + shorten(err.Error()))
	}
	f := in.Facts
	if f.Arch == "" {
		return unknown("this host's architecture is unknown")
	}
	nestedKnown := f.KVM.Nested != nil || (f.KVM.Module != nil && *f.KVM.Module == "kvm_pvm")
	if !nestedKnown {
		return unknown("this host's KVM nested setting cannot be read")
	}
	l0, _ := libvirt.L0(f)
	l0.Migration = in.Op == "migrate"
	l0.Hugepages = dom.MemoryBacking != nil && dom.MemoryBacking.MemoryHugePages != nil
	name := dom.Name
	if name == "" {
		name = in.Domain
	}
	res, err := p.JudgeChain(policy.Chain{Path: []string{l0.Name, name}, L0: l0, Guests: []policy.Guest{{Name: name, Runs: "none"}}})
	if err != nil {
		return unknown("policy: " + err.Error())
	}
	for _, fd := range res.Findings {
		if fd.Informational || fd.Level != policy.DoesNotWork {
			continue
		}
		msg := fmt.Sprintf("nestvirt guard refuses %s of %s: %s (%s) Remedy: %s Source: %s", opName(in.Op), name, fd.Message, fd.Rule, fd.Remedy, fd.Source)
		if mode == Warn {
			return Decision{Allow: true, Judged: true, Rule: fd.Rule, Message: "warning: " + msg, Log: logf("warn", fd.Rule, fd.Message)}
		}
		return Decision{Allow: false, Judged: true, Rule: fd.Rule, Message: msg, Log: logf("refuse", fd.Rule, fd.Message)}
	}
	if lv := f.Virtualization.Level; lv != nil && *lv >= 2 {
		msg := fmt.Sprintf("warning: this host is at level %d, so %s is an L%d guest: not properly tested and not expected to work", *lv, name, *lv+1)
		return Decision{Allow: true, Judged: true, Rule: "host-guest-depth", Message: msg, Log: logf("warn", "host-guest-depth", msg)}
	}
	return Decision{Allow: true, Judged: true, Log: logf("allow", "", "nothing the rules refuse")}
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return strings.ReplaceAll(s, "\n", " ")
}

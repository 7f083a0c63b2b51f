package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// Chain is what the policy judges: an L0 and the guests on one path below it. It is
// built from a topology file, or from a libvirt host and one of its VMs.
type Chain struct {
	Path   []string // node names, L0 first
	L0     facts.L0
	Guests []facts.Guest // Guests[0] is the L1
	// Unknown names the facts of this chain that could not be read, as paths:
	// "l0.os", "l0.nested", "l1.exposes", "l2.os".
	Unknown []string
}

// unknown reports whether a fact of the chain is unknown.
func (c *Chain) unknown(path string) bool {
	for _, u := range c.Unknown {
		if u == path || strings.HasPrefix(path, u+".") {
			return true
		}
	}
	return false
}

// Finding is one thing the policy says about a chain or a host.
type Finding struct {
	Rule          string `json:"rule"`
	Level         Level  `json:"level"`
	Informational bool   `json:"informational"`
	// Undetermined: the rule's outcome rests on facts that are unknown (named in
	// Unknown); it would apply at Level if they are as the rule needs.
	Undetermined bool     `json:"undetermined"`
	Unknown      []string `json:"unknown"`
	Message      string   `json:"message"`
	Source       string   `json:"source"`
	Remedy       string   `json:"remedy" schema:"null"` // "" is null: no remedy
	// Guard says the libvirt hook refuses an operation this finding is about.
	Guard string `json:"-"`
}

// MarshalJSON writes a finding with every field present: a finding without a
// remedy has "remedy": null (report's appendFinding writes the same bytes).
func (f Finding) MarshalJSON() ([]byte, error) {
	type out struct {
		Rule          string   `json:"rule"`
		Level         Level    `json:"level"`
		Informational bool     `json:"informational"`
		Undetermined  bool     `json:"undetermined"`
		Unknown       []string `json:"unknown"`
		Message       string   `json:"message"`
		Source        string   `json:"source"`
		Remedy        *string  `json:"remedy"`
	}
	o := out{Rule: f.Rule, Level: f.Level, Informational: f.Informational, Undetermined: f.Undetermined, Unknown: f.Unknown, Message: f.Message, Source: f.Source}
	if o.Unknown == nil {
		o.Unknown = []string{}
	}
	if f.Remedy != "" {
		o.Remedy = &f.Remedy
	}
	// No HTML escaping, as every document nestvirt writes: messages quote "<cpu>".
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(o); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Placement reports whether a finding places a chain or host in a listed
// environment (a table row, or a rule of level supported or tech-preview).
func (f Finding) Placement() bool { return !f.Informational && f.Level <= TechPreview }

// ChainResult is the verdict on one chain.
type ChainResult struct {
	Path     []string  `json:"path"`
	Verdict  Level     `json:"verdict"`
	Findings []Finding `json:"findings"`
}

// absentGuest stands for l1, l2, l3 beyond the chain's end; CEL never writes to it.
var absentGuest facts.Guest

// activation is the CEL input for a chain. An unknown fact of lN is unknown in
// guests[N-1] too.
func (c *Chain) activation(m *facts.Matrix) activation {
	at := func(i int) *facts.Guest {
		if i < len(c.Guests) {
			return &c.Guests[i]
		}
		return &absentGuest
	}
	vars := map[string]any{
		"depth": int64(len(c.Guests)), "l0": &c.L0, "l1": at(0), "l2": at(1), "l3": at(2),
		"guests": c.Guests, "matrix": m,
	}
	var unknown []string
	for _, u := range c.Unknown {
		unknown = append(unknown, u)
		if len(u) > 2 && u[0] == 'l' && u[1] >= '1' && u[1] <= '9' && (len(u) == 2 || u[2] == '.') {
			unknown = append(unknown, fmt.Sprintf("guests.[%d]%s", u[1]-'1', u[2:]))
		}
	}
	return newActivation(vars, unknown)
}

// JudgeChain evaluates the matrix and every chain rule. The error, when not nil,
// names rules that could not be evaluated; the result holds the rest.
func (p *Policy) JudgeChain(c Chain) (ChainResult, error) {
	if err := p.compiled(ScopeChain); err != nil {
		return ChainResult{Path: c.Path, Findings: []Finding{}}, err
	}
	return p.judgeChain(&c)
}

// JudgeChains judges several chains.
func (p *Policy) JudgeChains(cs []Chain) ([]ChainResult, error) {
	if err := p.compiled(ScopeChain); err != nil {
		return nil, err
	}
	out := make([]ChainResult, len(cs))
	var errs []error
	for i := range cs {
		var err error
		if out[i], err = p.judgeChain(&cs[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func (p *Policy) judgeChain(c *Chain) (ChainResult, error) {
	res := ChainResult{Path: c.Path, Findings: make([]Finding, 0, 4)}
	if len(c.Guests) > MaxGuests {
		// The cost estimates that let conditions run untracked assume this bound.
		return res, fmt.Errorf("chain %s: %d guest levels; the limit is %d", strings.Join(c.Path, " → "), len(c.Guests), MaxGuests)
	}
	m := p.matchMatrix(c)
	if m.finding != nil {
		res.Findings = append(res.Findings, *m.finding)
	}
	fs, err := p.applyScope(ScopeChain, c.activation(&m.vars))
	res.Findings = append(res.Findings, fs...)
	SortFindings(res.Findings)
	res.Verdict = VerdictOf(res.Findings)
	return res, err
}

// SortFindings orders findings: decided before undetermined, informational last,
// worst level first among equals, keeping the policy's order otherwise.
func SortFindings(fs []Finding) {
	rank := func(f Finding) int {
		switch {
		case f.Informational:
			return 2
		case f.Undetermined:
			return 1
		}
		return 0
	}
	sort.SliceStable(fs, func(i, j int) bool {
		if ri, rj := rank(fs[i]), rank(fs[j]); ri != rj {
			return ri < rj
		}
		return fs[i].Level > fs[j].Level
	})
}

// VerdictOf is the level findings give. Support is granted, not assumed: the best
// decided placement (a table row, a rule of level supported or tech-preview) sets
// the level, unsupported when there is none; any decided finding worse than that
// makes it worse. Undetermined findings change nothing: the verdict never rests
// on a fact nobody knows, and they say what would change it.
func VerdictOf(fs []Finding) Level {
	placed, best, worst := false, DoesNotWork, Supported
	for _, f := range fs {
		switch {
		case f.Informational || f.Undetermined:
		case f.Placement():
			placed, best = true, min(best, f.Level)
		default:
			worst = max(worst, f.Level)
		}
	}
	if !placed {
		best = Unsupported
	}
	return max(best, worst)
}

// applyScope evaluates every rule of a scope, in policy order.
func (p *Policy) applyScope(s Scope, a activation) ([]Finding, error) {
	var out []Finding
	var errs []error
	for _, r := range p.Rules {
		if r.Scope != s {
			continue
		}
		f, ok, err := p.apply(r, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, errors.Join(errs...)
}

func (p *Policy) apply(r *Rule, a activation) (Finding, bool, error) {
	hit, undetermined, err := evalBool(r.when, a)
	if err != nil {
		return Finding{}, false, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	if !hit && len(undetermined) == 0 {
		return Finding{}, false, nil
	}
	if !hit && r.Informational {
		return Finding{}, false, nil // it would say something, maybe, and change nothing
	}
	msg, _, err := r.message.render(a)
	if err != nil {
		return Finding{}, false, fmt.Errorf("rule %s message: %w", r.ID, err)
	}
	rem, remUnknown, err := r.remedy.render(a)
	if err != nil {
		return Finding{}, false, fmt.Errorf("rule %s remedy: %w", r.ID, err)
	}
	if !hit && remUnknown {
		rem = "" // a remedy for what may not be, naming what is not known, misleads
	}
	f := Finding{Rule: r.ID, Level: r.Level, Informational: r.Informational, Message: msg, Source: p.Cite(r.Source), Remedy: rem, Unknown: []string{}, Guard: r.Guard}
	if len(undetermined) > 0 {
		f.Undetermined, f.Unknown = true, undetermined
	}
	return f, true, nil
}

// chainSamples are chains of every depth, with every fact known and with the L0's
// unknown, for lint's trial evaluation.
func chainSamples() []activation {
	rhel := facts.OSOf(osid.OS{ID: "rhel10.0", Family: "rhel", Kind: osid.Linux, Version: "10.0"})
	l0 := facts.L0{Name: "host", OS: rhel, Arch: "x86_64", CPU: "amd", Module: "kvm_amd", Nestable: true, Hypervisor: "kvm", Platform: "rhel", Nested: true, Seen: true}
	gs := []facts.Guest{{Present: true, Name: "l1", OS: rhel, Runs: "kvm", Exposes: true}, {Present: true, Name: "l2", OS: rhel, Runs: "kvm", Exposes: true}, {Present: true, Name: "l3", Runs: "none"}}
	m := facts.Matrix{Level: "supported", Row: "wsl2", Book: "RHEL 10"}
	var out []activation
	for d := 0; d <= len(gs); d++ {
		c := Chain{L0: l0, Guests: gs[:d]}
		out = append(out, c.activation(&m))
		c.Unknown = []string{"l0.os", "l0.nested", "l0.hypervisor", "l1.exposes", "l1.os", "l2.os"}
		out = append(out, c.activation(&m))
	}
	return out
}

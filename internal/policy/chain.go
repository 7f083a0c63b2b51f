package policy

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nestvirt/nestvirt/internal/osid"
)

// Chain is what the policy judges: an L0 and the guests on one path below it. It is
// built from a topology file, or from a libvirt host and one of its VMs.
type Chain struct {
	Path   []string // node names, L0 first
	L0     L0
	Guests []Guest // Guests[0] is the L1
}

// L0 is the host at the bottom of a chain.
type L0 struct {
	Name       string
	OS         *osid.OS // nil when unknown
	Arch       string   // x86_64, aarch64, s390x, ppc64le
	CPU        string   // intel, amd on x86_64; "" elsewhere
	Hypervisor string   // kvm, esxi, hyper-v, aws, xen, other
	Platform   string   // rhel, rhv, openstack, openshift-virtualization
	Nested     bool
	Hugepages  bool
	Migration  bool
}

// Guest is an L1 or deeper VM.
type Guest struct {
	Name string
	OS   *osid.OS // nil when unknown
	Runs string   // kvm, hyper-v, wsl2, none
	// Exposes says whether hardware virtualization reaches the guest; nil when not
	// known (a planned topology does not say).
	Exposes *bool
}

// Finding is one thing the policy says about a chain or a host.
type Finding struct {
	Rule          string `json:"rule"`
	Level         Level  `json:"level"`
	Informational bool   `json:"informational,omitempty"`
	Message       string `json:"message"`
	Source        string `json:"source"`
	Remedy        string `json:"remedy"`
}

// ChainResult is the verdict on one chain.
type ChainResult struct {
	Path     []string  `json:"path"`
	Verdict  Level     `json:"verdict"`
	Findings []Finding `json:"findings"`
}

// Module is the KVM module that carries the nested parameter on an arch and vendor.
func Module(arch, cpu string) string {
	switch {
	case arch == "s390x":
		return "kvm"
	case cpu == "amd":
		return "kvm_amd"
	case cpu == "intel":
		return "kvm_intel"
	}
	return ""
}

func osVars(o *osid.OS) map[string]any {
	if o == nil {
		return map[string]any{"known": false, "id": "", "family": "", "kind": "", "version": "", "name": "unknown OS"}
	}
	return map[string]any{"known": true, "id": o.ID, "family": o.Family, "kind": string(o.Kind), "version": o.Version, "name": o.String()}
}

// absentGuest stands for l1, l2, l3 beyond the chain's end; CEL never writes to it.
var absentGuest = guestVars(nil, nil)

// osCache shares the (read-only) CEL maps of OSes across the chains of one call.
type osCache map[osid.OS]map[string]any

func (c osCache) vars(o *osid.OS) map[string]any {
	if o == nil || c == nil {
		return osVars(o)
	}
	v, ok := c[*o]
	if !ok {
		v = osVars(o)
		c[*o] = v
	}
	return v
}

func guestVars(g *Guest, oc osCache) map[string]any {
	if g == nil {
		return map[string]any{"present": false, "name": "", "os": osVars(nil), "runs": "", "exposes": nil}
	}
	var exposes any
	if g.Exposes != nil {
		exposes = *g.Exposes
	}
	return map[string]any{"present": true, "name": g.Name, "os": oc.vars(g.OS), "runs": g.Runs, "exposes": exposes}
}

func l0Vars(h *L0) map[string]any {
	return map[string]any{
		"name": h.Name, "os": osVars(h.OS), "arch": h.Arch, "cpu": h.CPU,
		"module": Module(h.Arch, h.CPU), "hypervisor": h.Hypervisor, "platform": h.Platform,
		"nested": h.Nested, "hugepages": h.Hugepages, "migration": h.Migration,
	}
}

// vars is the CEL activation for a chain; l0 is l0Vars(&c.L0), shared by the chains
// of one host.
func (c *Chain) vars(m matrixResult, l0 map[string]any, oc osCache) map[string]any {
	guests := make([]any, len(c.Guests))
	for i := range c.Guests {
		guests[i] = guestVars(&c.Guests[i], oc)
	}
	at := func(i int) map[string]any {
		if i < len(c.Guests) {
			return guests[i].(map[string]any)
		}
		return absentGuest
	}
	return map[string]any{
		"depth": int64(len(c.Guests)), "l0": l0, "l1": at(0), "l2": at(1), "l3": at(2), "guests": guests,
		"matrix": map[string]any{"level": m.level, "row": m.row, "book": m.book},
	}
}

// JudgeChain evaluates the matrix and every chain rule. The error, when not nil,
// names rules that could not be evaluated; the result holds the rest.
func (p *Policy) JudgeChain(c Chain) (ChainResult, error) {
	if err := p.compiled(ScopeChain); err != nil {
		return ChainResult{Path: c.Path, Findings: []Finding{}}, err
	}
	return p.judgeChain(&c, l0Vars(&c.L0), nil)
}

// JudgeChains judges chains that share one L0, computing its facts once.
func (p *Policy) JudgeChains(cs []Chain) ([]ChainResult, error) {
	if err := p.compiled(ScopeChain); err != nil {
		return nil, err
	}
	out := make([]ChainResult, len(cs))
	var errs []error
	var l0 map[string]any
	oc := osCache{}
	for i := range cs {
		if i == 0 || cs[i].L0 != cs[i-1].L0 {
			l0 = l0Vars(&cs[i].L0)
		}
		var err error
		if out[i], err = p.judgeChain(&cs[i], l0, oc); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func (p *Policy) judgeChain(c *Chain, l0 map[string]any, oc osCache) (ChainResult, error) {
	res := ChainResult{Path: c.Path, Findings: make([]Finding, 0, 4)}
	m := p.matchMatrix(c)
	if m.finding != nil {
		res.Findings = append(res.Findings, *m.finding)
	}
	vars := c.vars(m, l0, oc)
	fs, err := p.applyScope(ScopeChain, vars)
	res.Findings = append(res.Findings, fs...)
	SortFindings(res.Findings)
	res.Verdict = VerdictOf(res.Findings)
	return res, err
}

// SortFindings orders findings worst level first, informational ones last, keeping
// the policy's order among equals.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Informational != fs[j].Informational {
			return !fs[i].Informational
		}
		return fs[i].Level > fs[j].Level
	})
}

// VerdictOf is the worst level among findings, or supported when there are none.
func VerdictOf(fs []Finding) Level {
	v := Supported
	for _, f := range fs {
		v = Worst(v, f.Level)
	}
	return v
}

// applyScope evaluates every rule of a scope on vars, in policy order.
func (p *Policy) applyScope(s Scope, vars map[string]any) ([]Finding, error) {
	var out []Finding
	var errs []error
	for _, r := range p.Rules {
		if r.Scope != s {
			continue
		}
		f, ok, err := p.apply(r, vars)
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

func (p *Policy) apply(r *Rule, vars map[string]any) (Finding, bool, error) {
	hit, err := evalBool(r.when, vars)
	if err != nil {
		return Finding{}, false, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	if !hit {
		return Finding{}, false, nil
	}
	msg, err := r.message.render(vars)
	if err != nil {
		return Finding{}, false, fmt.Errorf("rule %s message: %w", r.ID, err)
	}
	rem, err := r.remedy.render(vars)
	if err != nil {
		return Finding{}, false, fmt.Errorf("rule %s remedy: %w", r.ID, err)
	}
	return Finding{Rule: r.ID, Level: r.Level, Informational: r.Informational, Message: msg, Source: p.Cite(r.Source), Remedy: rem}, true, nil
}

type matrixResult struct {
	level, row, book string
	finding          *Finding
}

// matchMatrix judges the first three levels of a chain that reaches an L2 against the
// tables: the best matching row wins; with none, the nearest row explains what is
// outside the lists.
func (p *Policy) matchMatrix(c *Chain) matrixResult {
	if len(c.Guests) < 2 || len(p.Matrix) == 0 {
		return matrixResult{}
	}
	l1, l2 := &c.Guests[0], &c.Guests[1]
	var nearest *Row
	var nearestMiss []string
	nearestScore := 0
	for i := range p.Matrix {
		row := &p.Matrix[i]
		if row.matches(c, l1, l2) {
			f := Finding{
				Rule:    "matrix/" + row.ID,
				Level:   row.Level,
				Message: fmt.Sprintf("%s: listed in the %s %s table (%s).", describe(c), row.Book, tableName(row.Level), row.Level),
				Source:  p.Cite(row.Source),
			}
			return matrixResult{level: row.Level.String(), row: row.ID, book: row.Book, finding: &f}
		}
	}
	for i := range p.Matrix {
		row := &p.Matrix[i]
		miss := row.mismatches(c, l1, l2)
		// The nearest row is the one with fewest misses; a row built for another L1
		// hypervisor (WSL2 versus KVM) is farther than its miss count says.
		score := len(miss)
		if !row.runsAny(l1.Runs) {
			score++
		}
		if nearest == nil || score < nearestScore {
			nearest, nearestMiss, nearestScore = row, miss, score
		}
	}
	f := Finding{
		Rule:    "matrix/unlisted",
		Level:   Unsupported,
		Message: fmt.Sprintf("%s: outside every listed environment. Nearest is the %s %s table: %s.", describe(c), nearest.Book, tableName(nearest.Level), strings.Join(nearestMiss, "; ")),
		Source:  p.Cite(nearest.Source),
		Remedy:  "Change the chain to one the tables list; see `nestvirt matrix`.",
	}
	return matrixResult{level: Unsupported.String(), finding: &f}
}

func tableName(l Level) string {
	if l == Supported {
		return "supported-environments"
	}
	return "Technology Preview"
}

func describe(c *Chain) string {
	var b strings.Builder
	b.WriteString(c.L0.Name)
	b.WriteString(" (")
	b.WriteString(l0Label(&c.L0))
	b.WriteString(")")
	for i := 0; i < len(c.Guests) && i < 2; i++ {
		g := &c.Guests[i]
		b.WriteString(" → ")
		b.WriteString(g.Name)
		b.WriteString(" (")
		b.WriteString(guestLabel(g))
		b.WriteString(")")
	}
	return b.String()
}

func l0Label(h *L0) string {
	var parts []string
	if h.OS != nil {
		parts = append(parts, h.OS.String())
	} else if h.Hypervisor != "kvm" {
		parts = append(parts, h.Hypervisor)
	} else {
		parts = append(parts, "unknown OS")
	}
	arch := h.Arch
	if h.CPU != "" {
		arch += " " + map[string]string{"intel": "Intel", "amd": "AMD"}[h.CPU]
	}
	return strings.Join(append(parts, arch), ", ")
}

func guestLabel(g *Guest) string {
	s := "unknown OS"
	if g.OS != nil {
		s = g.OS.String()
	}
	switch g.Runs {
	case "wsl2":
		s += " with WSL2"
	case "hyper-v":
		s += " with Hyper-V"
	case "kvm":
		s += " with KVM"
	}
	return s
}

// matches is mismatches without the explanations, for the common path.
func (r *Row) matches(c *Chain, l1, l2 *Guest) bool {
	if !contains(r.L0.Hypervisor, c.L0.Hypervisor) || !anyOS(r.L0.OS, c.L0.OS) || !contains(r.L0.Arch, c.L0.Arch) {
		return false
	}
	if c.L0.Arch == "x86_64" && len(r.L0.CPU) > 0 && !contains(r.L0.CPU, c.L0.CPU) {
		return false
	}
	return anyGuest(r.L1, l1, true) && anyGuest(r.L2, l2, false)
}

func (r *Row) runsAny(runs string) bool {
	for _, g := range r.L1 {
		if g.Runs == runs {
			return true
		}
	}
	return false
}

// mismatches lists why a chain is not in a row; empty means it is.
func (r *Row) mismatches(c *Chain, l1, l2 *Guest) []string {
	var miss []string
	if !contains(r.L0.Hypervisor, c.L0.Hypervisor) {
		miss = append(miss, fmt.Sprintf("the L0 must be %s, not %s", strings.Join(r.L0.Hypervisor, " or "), c.L0.Hypervisor))
	}
	if !anyOS(r.L0.OS, c.L0.OS) {
		miss = append(miss, fmt.Sprintf("L0 %s is not %s", osName(c.L0.OS), labels(r.L0.OS)))
	}
	if !contains(r.L0.Arch, c.L0.Arch) {
		miss = append(miss, fmt.Sprintf("L0 arch %s is not %s", c.L0.Arch, strings.Join(r.L0.Arch, " or ")))
	} else if c.L0.Arch == "x86_64" && len(r.L0.CPU) > 0 && !contains(r.L0.CPU, c.L0.CPU) {
		miss = append(miss, fmt.Sprintf("L0 CPU %s is not %s", c.L0.CPU, strings.Join(r.L0.CPU, " or ")))
	}
	if !anyGuest(r.L1, l1, true) {
		miss = append(miss, fmt.Sprintf("L1 %s is not one of: %s", guestLabel(l1), guestLabels(r.L1)))
	}
	if !anyGuest(r.L2, l2, false) {
		miss = append(miss, fmt.Sprintf("L2 %s is not one of: %s", osName(l2.OS), guestLabels(r.L2)))
	}
	return miss
}

func osName(o *osid.OS) string {
	if o == nil {
		return "(OS not given)"
	}
	return o.String()
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func anyOS(ms []OSMatcher, o *osid.OS) bool {
	for _, m := range ms {
		if m.Match(o) {
			return true
		}
	}
	return false
}

func anyGuest(specs []GuestSpec, g *Guest, isL1 bool) bool {
	for _, s := range specs {
		if s.OS.Match(g.OS) && (!isL1 || s.Runs == g.Runs) {
			return true
		}
	}
	return false
}

func labels(ms []OSMatcher) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Label()
	}
	return strings.Join(out, " or ")
}

func guestLabels(gs []GuestSpec) string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Label()
	}
	return strings.Join(out, ", ")
}

// chainSamples are full chains of every depth, for lint's trial evaluation.
func chainSamples() []map[string]any {
	rhel := &osid.OS{ID: "rhel10.0", Family: "rhel", Kind: osid.Linux, Version: "10.0"}
	l0 := L0{Name: "host", OS: rhel, Arch: "x86_64", CPU: "amd", Hypervisor: "kvm", Platform: "rhel", Nested: true}
	gs := []Guest{{Name: "l1", OS: rhel, Runs: "kvm"}, {Name: "l2", OS: rhel, Runs: "kvm"}, {Name: "l3", Runs: "none"}}
	var out []map[string]any
	for d := 0; d <= len(gs); d++ {
		c := Chain{L0: l0, Guests: gs[:d]}
		out = append(out, c.vars(matrixResult{level: "supported", row: "wsl2", book: "RHEL 10"}, l0Vars(&c.L0), nil))
	}
	return out
}

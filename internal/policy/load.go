package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

var (
	idRe      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`) })
	versionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`) })
	// Values a matrix row may list: the facts' vocabulary (an L1 in a row runs
	// something: not "none").
	matrixArches = arch.RHEL
	matrixCPUs   = facts.CPUs
	matrixHVs    = facts.Hypervisors
	matrixRuns   = slices.DeleteFunc(slices.Clone(facts.GuestRuns), func(r string) bool { return r == "none" })
)

// MaxFile bounds a policy file nestvirt reads (--policy, policy lint, the
// guard's): the shipped one is under 50 KiB.
const MaxFile = 4 << 20

// Load parses, validates and compiles a policy file, and evaluates every rule on
// sample facts. Every problem is reported at once, as strictyaml.Problems, each with
// the field's path (rules[3].level). This is lint, and what --policy files get.
func Load(file string, data []byte) (*Policy, error) { return load(file, data, true) }

// LoadFile reads (at most MaxFile) and loads a policy file.
func LoadFile(file string) (*Policy, error) {
	data, err := fsroot.ReadNamed(file, MaxFile)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return Load(file, data)
}

// loadLazy validates the structure but compiles each scope's rules on first use:
// for the embedded policy, which the tests lint in full, so `nestvirt check` does
// not pay for compiling the chain rules it never runs.
func loadLazy(file string, data []byte) (*Policy, error) { return load(file, data, false) }

func load(file string, data []byte, eager bool) (*Policy, error) {
	doc, root, err := strictyaml.Parse(file, data)
	if err != nil {
		return nil, err
	}
	p := &Policy{Sources: map[string]Source{}, lazy: !eager}
	top := root.Map("policy", "title", "document", "sources", "matrix", "rules")
	p.Name = requiredString(top["policy"])
	p.Title, _ = top["title"].String()
	p.Document = requiredString(top["document"])

	for _, e := range top["sources"].Entries() {
		f := e.Value.Map("document", "section", "url", "quote", "summary")
		s := Source{ID: e.Key}
		s.Document, _ = f["document"].String()
		s.Section = requiredString(f["section"])
		s.URL, _ = f["url"].String()
		s.Summary, _ = f["summary"].String()
		if f["quote"].IsSeq() {
			for _, it := range f["quote"].Seq() {
				s.Quote = append(s.Quote, requiredString(it))
			}
		} else if q, ok := f["quote"].String(); ok {
			s.Quote = []string{q}
		}
		switch {
		case len(s.Quote) > 0 && s.Summary != "":
			e.Value.Errorf("source %s: a quote or a summary, not both", e.Key)
		case len(s.Quote) == 0 && s.Summary == "":
			e.Value.Errorf("source %s: needs a quote (the policy document's exact words) or a summary (another document, in nestvirt's words)", e.Key)
		case len(s.Quote) > 0 && s.Document != "":
			f["quote"].Errorf("only %s is quoted (its text is checked word for word); cite %s with a summary and its url", p.Document, s.Document)
		case s.Summary != "" && s.Document != "" && s.URL == "":
			f["url"].Errorf("missing: a summary of another document names where it is read")
		}
		if !idRe().MatchString(e.Key) {
			e.Value.Errorf("source id %q: use lowercase letters, digits and dashes", e.Key)
		}
		p.Sources[e.Key] = s
	}
	if !top["sources"].Present() {
		top["sources"].Errorf("missing: findings must cite their sources")
	}

	rowIDs := map[string]bool{}
	for _, n := range top["matrix"].Seq() {
		p.Matrix = append(p.Matrix, readRow(n, p, rowIDs))
	}
	for i := 1; i < len(p.Matrix); i++ {
		if p.Matrix[i].Level < p.Matrix[i-1].Level {
			top["matrix"].Errorf("rows must be ordered best level first (%s comes after %s)", p.Matrix[i].ID, p.Matrix[i-1].ID)
		}
	}

	env := newEnvs()
	p.envs = env
	ruleIDs := map[string]bool{}
	for _, n := range top["rules"].Seq() {
		if r := readRule(n, p, env, ruleIDs); r != nil {
			p.Rules = append(p.Rules, r)
		}
	}
	if !top["rules"].Present() && !top["matrix"].Present() {
		root.Errorf("a policy needs a matrix or rules")
	}
	if err := doc.Err(); err != nil {
		return nil, err
	}
	cites := make(map[string]string, len(p.Sources))
	for id := range p.Sources {
		cites[id] = p.Cite(id)
	}
	p.cites = cites
	return p, nil
}

func requiredString(n strictyaml.Node) string {
	if !n.Present() {
		n.Errorf("missing")
		return ""
	}
	s, _ := n.String()
	if s == "" {
		n.Errorf("is empty")
	}
	return s
}

func readLevel(n strictyaml.Node) Level {
	s, ok := n.String()
	if !ok {
		if !n.Present() {
			n.Errorf("missing")
		}
		return Supported
	}
	l, err := ParseLevel(s)
	if err != nil {
		n.Errorf("unknown level %q (one of: %s)%s", s, strings.Join(LevelNames(), ", "), strictyaml.Nearest(s, LevelNames()))
	}
	return l
}

func readID(n strictyaml.Node, seen map[string]bool) string {
	id := requiredString(n)
	if id == "" {
		return ""
	}
	if !idRe().MatchString(id) {
		n.Errorf("id %q: use lowercase letters, digits and dashes", id)
	}
	if seen[id] {
		n.Errorf("duplicate id %q", id)
	}
	seen[id] = true
	return id
}

func readSourceRef(n strictyaml.Node, p *Policy) string {
	id := requiredString(n)
	if id == "" {
		return ""
	}
	if _, ok := p.Sources[id]; !ok {
		ids := make([]string, 0, len(p.Sources))
		for k := range p.Sources {
			ids = append(ids, k)
		}
		n.Errorf("unknown source %q%s", id, strictyaml.Nearest(id, ids))
	}
	return id
}

func readRow(n strictyaml.Node, p *Policy, seen map[string]bool) Row {
	f := n.Map("id", "level", "book", "source", "arch_source", "l0", "l1", "l2")
	r := Row{ID: readID(f["id"], seen), Level: readLevel(f["level"])}
	r.Book = requiredString(f["book"])
	r.Source = readSourceRef(f["source"], p)
	r.ArchSource = r.Source
	if f["arch_source"].Present() {
		r.ArchSource = readSourceRef(f["arch_source"], p)
	}
	if r.Level > TechPreview {
		f["level"].Errorf("matrix rows list environments that work (supported or tech-preview); %s belongs in a rule", r.Level)
	}
	l0 := f["l0"].Map("os", "arch", "cpu", "hypervisor")
	if !f["l0"].Present() {
		f["l0"].Errorf("missing")
	}
	for _, o := range l0["os"].Seq() {
		r.L0.OS = append(r.L0.OS, readMatcher(o))
	}
	r.L0.Arch = readEnumList(l0["arch"], matrixArches)
	r.L0.CPU = readEnumList(l0["cpu"], matrixCPUs)
	r.L0.Hypervisor = readEnumList(l0["hypervisor"], matrixHVs)
	if len(r.L0.Hypervisor) == 0 {
		r.L0.Hypervisor = []string{"kvm"}
	}
	if len(r.L0.OS) == 0 {
		l0["os"].Errorf("missing: list the L0 operating systems")
	}
	if len(r.L0.Arch) == 0 {
		l0["arch"].Errorf("missing: list the L0 architectures")
	}
	r.L1 = readGuestSpecs(f["l1"], true)
	r.L2 = readGuestSpecs(f["l2"], false)
	return r
}

func readGuestSpecs(n strictyaml.Node, isL1 bool) []GuestSpec {
	items := n.Seq()
	if len(items) == 0 {
		n.Errorf("missing: list the allowed guests")
	}
	out := make([]GuestSpec, 0, len(items))
	for _, it := range items {
		f := it.Map("os", "runs", "note")
		g := GuestSpec{OS: readMatcher(f["os"])}
		g.Note, _ = f["note"].String()
		if f["runs"].Present() {
			if !isL1 {
				f["runs"].Errorf("runs belongs to L1 entries (what the L1 runs its L2s with)")
			}
			g.Runs, _ = f["runs"].OneOf(matrixRuns...)
		} else if isL1 {
			f["runs"].Errorf("missing: say what this L1 runs its L2s with (%s)", strings.Join(matrixRuns, ", "))
		}
		out = append(out, g)
	}
	return out
}

func readEnumList(n strictyaml.Node, allowed []string) []string {
	var out []string
	for _, it := range n.Seq() {
		if v, ok := it.OneOf(allowed...); ok {
			out = append(out, v)
		}
	}
	return out
}

var matcherRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([a-z-]+)(?:>=([0-9.]+))?(?:,\s*<([0-9.]+))?$`) })

// readMatcher reads "rhel>=9.2,<10", "windows-server>=2019" or a kind ("linux").
func readMatcher(n strictyaml.Node) OSMatcher {
	s, ok := n.String()
	if !ok {
		if !n.Present() {
			n.Errorf("missing")
		}
		return OSMatcher{}
	}
	m := matcherRe().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		n.Errorf("bad OS matcher %q (write a family with an optional range: rhel>=9.6, rhel>=9.2,<10, linux)", s)
		return OSMatcher{Text: s}
	}
	out := OSMatcher{Text: s, Min: m[2], Below: m[3]}
	switch m[1] {
	case "linux":
		out.Kind = osid.Linux
	case "windows-any":
		out.Kind = osid.Windows
	default:
		if osid.KindOf(m[1]) == "" {
			fams := append(osid.Families(), "linux", "windows-any")
			n.Errorf("unknown OS family %q%s", m[1], strictyaml.Nearest(m[1], fams))
		}
		out.Family = m[1]
	}
	for _, v := range []string{out.Min, out.Below} {
		if v != "" && !versionRe().MatchString(v) {
			n.Errorf("bad version %q in %q", v, s)
		}
	}
	if out.Kind != "" && (out.Min != "" || out.Below != "") {
		n.Errorf("a kind (%s) takes no version range", m[1])
	}
	return out
}

func readRule(n strictyaml.Node, p *Policy, env *envs, seen map[string]bool) *Rule {
	f := n.Map("id", "scope", "level", "informational", "when", "message", "source", "remedy", "guard")
	r := &Rule{ID: readID(f["id"], seen), Level: readLevel(f["level"])}
	scope := string(ScopeChain)
	if f["scope"].Present() {
		scope, _ = f["scope"].OneOf(string(ScopeChain), string(ScopeHost))
	}
	r.Scope = Scope(scope)
	r.Informational, _ = f["informational"].Bool()
	if r.Informational && r.Level != Supported {
		f["level"].Errorf("an informational rule must have level supported, so it never changes a verdict")
	}
	r.When = requiredString(f["when"])
	r.Message = requiredString(f["message"])
	r.Source = readSourceRef(f["source"], p)
	r.Remedy, _ = f["remedy"].String()
	if f["guard"].Present() {
		r.Guard, _ = f["guard"].OneOf("refuse")
		if r.Scope != ScopeChain || r.Level != DoesNotWork {
			f["guard"].Errorf("guard: refuse is for chain rules of level does-not-work (what breaks the operation itself)")
		}
	}
	if r.Scope == "" {
		return r
	}
	e := env.of(r.Scope)
	eager := !p.lazy
	var err error
	if r.message, err = e.parseTemplate(r.Message, eager); err != nil {
		f["message"].Errorf("%s", err)
	}
	if r.remedy, err = e.parseTemplate(r.Remedy, eager); err != nil {
		f["remedy"].Errorf("%s", err)
	}
	if !eager {
		return r // compiled on first use of its scope (Policy.compiled)
	}
	if r.When != "" {
		prg, err := e.compileBool(r.When)
		if err != nil {
			f["when"].Errorf("%s", err)
		}
		r.when = prg
	}
	// Bound the work a rule can cause: the estimate covers the condition and every
	// {{expression}}, with lists and strings of the sizes facts have.
	costly := false
	for _, x := range ruleExprs(r) {
		ast := e.ast(x.src)
		if ast == nil {
			continue
		}
		if cost, err := e.estimate(ast); err != nil {
			x.node(f).Errorf("estimating the cost of %q: %s", x.src, err.Error())
			costly = true
		} else if cost > CostLimit {
			x.node(f).Errorf("%q may cost %d to evaluate, over the limit of %d (a comprehension over a comprehension?)", x.src, cost, CostLimit)
			costly = true
		}
	}
	// Evaluate against sample facts too: what compiles can still fail at run time
	// (an index past a list's end, a division by zero), here rather than on a
	// user's machine.
	if r.when != nil && r.message.ok() && r.remedy.ok() && !costly {
		for _, sample := range e.samples() {
			hit, undetermined, err := evalBool(r.when, sample)
			if err != nil {
				f["when"].Errorf("evaluating on sample facts: %s", err)
				break
			}
			if !hit && len(undetermined) == 0 {
				continue // messages are only rendered where the condition holds
			}
			if _, _, err := r.message.render(sample); err != nil {
				f["message"].Errorf("evaluating on sample facts: %s", err)
				break
			}
			if _, _, err := r.remedy.render(sample); err != nil {
				f["remedy"].Errorf("evaluating on sample facts: %s", err)
				break
			}
		}
	}
	return r
}

// ruleExpr is one CEL expression of a rule and the field it stands in.
type ruleExpr struct {
	src   string
	field string
}

func (x ruleExpr) node(f map[string]strictyaml.Node) strictyaml.Node { return f[x.field] }

// ruleExprs lists a rule's condition and template expressions.
func ruleExprs(r *Rule) []ruleExpr {
	out := []ruleExpr{{r.When, "when"}}
	for _, t := range []struct {
		t     template
		field string
	}{{r.message, "message"}, {r.remedy, "remedy"}} {
		for _, x := range t.t.exprs {
			out = append(out, ruleExpr{x.src, t.field})
		}
	}
	return out
}

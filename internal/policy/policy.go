// Package policy holds Red Hat's nested-virtualization rules as data: the support
// matrix as tables, the limitations as rules with CEL conditions, each citing the
// sentence it comes from. It loads and validates policy files and judges facts
// against them. It does no I/O of its own: callers hand it bytes and facts.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/policies"
)

// Policy is a loaded, validated and compiled policy file.
type Policy struct {
	Name     string
	Title    string
	Document string
	Sources  map[string]Source
	Matrix   []Row
	Rules    []*Rule
	cites    map[string]string // rendered citations, by source id

	lazy  bool // rules compile on first use of their scope
	envs  *envs
	once  [2]sync.Once // per scope: chain, host
	onErr [2]error
}

// compiled makes sure the rules of a scope have their conditions compiled. For a
// lazily loaded policy that happens here, once; its error is a defect of a policy the
// tests lint, reported rather than hidden.
func (p *Policy) compiled(s Scope) error {
	if !p.lazy {
		return nil
	}
	i := 0
	if s == ScopeHost {
		i = 1
	}
	p.once[i].Do(func() {
		e := p.envs.of(s)
		e.cel()
		rules := p.RulesFor(s)
		// Spread over the CPUs: `check` waits for this, and it is CPU work.
		workers := min(runtime.GOMAXPROCS(0), len(rules))
		errs := make([]error, len(rules))
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < len(rules); j += workers {
					prg, err := e.compileBool(rules[j].When)
					if err == nil {
						// Plan here, in parallel, what the scope's facts will use: a
						// machine always has facts only its admin can state.
						_, err = prg.planned(s == ScopeHost)
					}
					if err != nil {
						errs[j] = fmt.Errorf("rule %s: %w", rules[j].ID, err)
						continue
					}
					rules[j].when = prg
				}
			}()
		}
		wg.Wait()
		p.onErr[i] = errors.Join(errs...)
	})
	return p.onErr[i]
}

// Prepare compiles a scope's rules ahead of use, so a caller can overlap it with
// gathering facts. It is safe to call from several goroutines.
func (p *Policy) Prepare(s Scope) error { return p.compiled(s) }

// Ahead loads a policy with load and compiles its rules of scope on a goroutine
// of their own, and returns what waits for them: loading and compiling is CPU
// work, gathering facts mostly I/O, and `check` overlaps the two.
func Ahead(load func() (*Policy, error), scope Scope) (wait func() (*Policy, error)) {
	var p *Policy
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if p, err = load(); err == nil {
			p.Prepare(scope)
		}
	}()
	return func() (*Policy, error) {
		<-done
		return p, err
	}
}

// Source is a citation: the sentence of a document a finding rests on.
type Source struct {
	ID       string
	Document string // "" means the policy's own document
	Section  string
	URL      string
	// Quote is the document's exact words, one passage or several taken in
	// order (a list's items), shown in quotation marks. Only the policy's own
	// document is quoted: a test holds every passage to its text.
	Quote []string
	// Summary is nestvirt's reading of another document, shown as such,
	// never in quotation marks.
	Summary string
}

// Row is one table of the support matrix: a level and, per level of the chain, the
// list of what it allows.
type Row struct {
	ID         string
	Level      Level
	Book       string
	Source     string
	ArchSource string
	L0         L0Spec
	L1         []GuestSpec
	L2         []GuestSpec
}

// L0Spec is what a row allows as the L0.
type L0Spec struct {
	OS         []OSMatcher
	Arch       []string
	CPU        []string // checked on x86_64 only; other arches imply their vendor
	Hypervisor []string // default ["kvm"]
}

// GuestSpec is one entry of a row's L1 or L2 column.
type GuestSpec struct {
	OS   OSMatcher
	Runs string // for L1 entries: what the L1 runs its L2s with
	Note string
}

// OSMatcher matches an OS family (or any OS of a kind) in a version range.
type OSMatcher struct {
	Text   string // as written in the policy
	Family string // a family name, or "" when Kind is set
	Kind   osid.Kind
	Min    string // inclusive; "" for none
	Below  string // exclusive; "" for none
}

// Match reports whether o satisfies the matcher. An OS without a version is never
// in a range: the policy cannot assume a release it was not told.
func (m OSMatcher) Match(o facts.OS) bool {
	if o.ID == "" {
		return false
	}
	if m.Kind != "" {
		return o.Kind == string(m.Kind)
	}
	if o.Family != m.Family {
		return false
	}
	if m.Min != "" && (o.Version == "" || osid.CompareVersions(o.Version, m.Min) < 0) {
		return false
	}
	if m.Below != "" && (o.Version == "" || osid.CompareVersions(o.Version, m.Below) >= 0) {
		return false
	}
	return true
}

// Label is how a table cell reads: "RHEL 9.6 and later".
func (m OSMatcher) Label() string {
	var name string
	switch {
	case m.Kind != "":
		name = "any " + map[osid.Kind]string{osid.Linux: "Linux", osid.Windows: "Windows"}[m.Kind]
	default:
		name = osid.OS{Family: m.Family}.String()
	}
	switch {
	case m.Min != "" && m.Below != "":
		return fmt.Sprintf("%s %s and later, before %s", name, m.Min, m.Below)
	case m.Min != "":
		return fmt.Sprintf("%s %s and later", name, m.Min)
	case m.Below != "":
		return fmt.Sprintf("%s before %s", name, m.Below)
	}
	return name
}

// Label is how an L1/L2 cell reads: "Windows Server 2019 and later with WSL2".
func (g GuestSpec) Label() string {
	s := g.OS.Label()
	switch g.Runs {
	case "wsl2":
		s += " with WSL2"
	case "hyper-v":
		s += " with Hyper-V"
	}
	if g.Note != "" {
		s += " (" + g.Note + ")"
	}
	return s
}

// Scope says what a rule judges.
type Scope string

// The scopes.
const (
	ScopeChain Scope = "chain" // a chain of a topology, or of a libvirt host and its VMs
	ScopeHost  Scope = "host"  // the machine nestvirt runs on
)

// Rule is one limitation of the source text.
type Rule struct {
	ID            string
	Scope         Scope
	Level         Level
	Informational bool
	When          string
	Message       string
	Source        string
	Remedy        string
	// Guard is what nestvirt's libvirt hook does when the rule fires on the chain of
	// a guest being started, restored or migrated in: "refuse", or "" (it warns).
	Guard string

	when    *program
	message template
	remedy  template
}

// Cite renders a source as one line: document, section, quote.
func (p *Policy) Cite(id string) string {
	if c, ok := p.cites[id]; ok {
		return c
	}
	s, ok := p.Sources[id]
	if !ok {
		return id
	}
	doc := s.Document
	if doc == "" {
		doc = p.Document
	}
	where := doc + " › " + s.Section
	if s.URL != "" {
		where += " (" + s.URL + ")"
	}
	if len(s.Quote) == 0 {
		return where + ", in nestvirt's words, not a quotation: " + s.Summary
	}
	return where + ": \"" + strings.Join(s.Quote, "\" … \"") + "\""
}

// RulesFor returns the rules of one scope, in file order.
func (p *Policy) RulesFor(s Scope) []*Rule {
	var out []*Rule
	for _, r := range p.Rules {
		if r.Scope == s {
			out = append(out, r)
		}
	}
	return out
}

// Default returns the embedded default policy. It is validated by the tests, so a
// failure here is a build defect and panics.
func Default() *Policy {
	defaultOnce.Do(func() {
		// The derived file saves parsing YAML and CEL at every start; the YAML is
		// the source of truth (TestCompiledPolicyMatchesTheYAML), and the fallback.
		data, err := policies.FS.ReadFile(CompiledName(policies.Default))
		if err == nil {
			defaultPol, err = loadCompiled(data)
		}
		if err != nil {
			data, err = policies.FS.ReadFile(policies.Default)
			if err == nil {
				defaultPol, err = loadLazy("policies/"+policies.Default, data)
			}
		}
		if err != nil {
			panic(fmt.Sprintf("embedded policy %s: %v", policies.Default, err))
		}
	})
	return defaultPol
}

// DefaultHead is the embedded default policy's name and title, read from the
// head of its compiled file without decoding the rules: what `nestvirt
// version` says, at a fraction of Default's cost. A file whose head does not
// give them (it is derived, and could change shape) falls back to Default.
func DefaultHead() (name, title string) {
	if f, err := policies.FS.Open(CompiledName(policies.Default)); err == nil {
		defer f.Close()
		dec := json.NewDecoder(f)
		// {"policy": {"Name": "...", "Title": "...", ...
		want := []any{json.Delim('{'), "policy", json.Delim('{')}
		ok := true
		for _, w := range want {
			if t, err := dec.Token(); err != nil || t != w {
				ok = false
				break
			}
		}
		for ok && (name == "" || title == "") {
			k, err1 := dec.Token()
			v, err2 := dec.Token()
			ks, _ := k.(string)
			vs, isStr := v.(string)
			if err1 != nil || err2 != nil || !isStr {
				break
			}
			switch ks {
			case "Name":
				name = vs
			case "Title":
				title = vs
			}
		}
		if name != "" && title != "" {
			return name, title
		}
	}
	p := Default()
	return p.Name, p.Title
}

// Embedded loads a policy file built into the binary, by file name.
func Embedded(name string) (*Policy, error) {
	data, err := policies.FS.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("no embedded policy %q", name)
	}
	return Load("policies/"+name, data)
}

var (
	defaultOnce sync.Once
	defaultPol  *Policy
)

// CompiledName is the file holding a policy's CEL cache (see BuildCompiled).
func CompiledName(policyFile string) string {
	return strings.TrimSuffix(policyFile, ".yaml") + ".compiled.json"
}

// DefaultName is the embedded policy nestvirt judges with unless told otherwise.
const DefaultName = policies.Default

// EmbeddedText is the text of the embedded policy file name, as shipped (to
// copy and adapt).
func EmbeddedText(name string) ([]byte, error) {
	data, err := policies.FS.ReadFile(name)
	if err != nil || !strings.HasSuffix(name, ".yaml") {
		return nil, fault.Inputf("no embedded policy %q (embedded: %v)", name, EmbeddedNames())
	}
	return data, nil
}

// EmbeddedNames lists the embedded policy files.
func EmbeddedNames() []string {
	ents, _ := policies.FS.ReadDir(".")
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, e.Name())
		}
	}
	return out
}

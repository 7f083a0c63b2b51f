package policy

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// Cost bounds one evaluation: a condition or template whose cost passes CostLimit
// is stopped with an error, and lint refuses one whose estimated cost does. The
// shipped rules cost under 100; a comprehension over every guest of the deepest
// chain a topology may hold costs a few hundred.
const CostLimit = 100_000

// envs holds one CEL environment per scope.
type envs struct {
	chain, host *env
}

type env struct {
	scope  Scope
	cache  celCache        // checked trees of known expressions; nil for none
	proven map[string]bool // cache keys whose cost the estimate proves
	// optimize plans programs for evaluation speed (constant folding, in-list
	// sets) at a higher cost to build: worth it for chain rules, run per chain,
	// not for host rules, run once per process.
	optimize bool

	// Built on first use: a run of `check` never needs the chain environment.
	once       sync.Once
	celEnv     *cel.Env
	newEnv     func() (*cel.Env, error)
	samplesFn  func() []activation
	sampleOnce sync.Once
	samplesV   []activation
}

func (e *env) cel() *cel.Env {
	e.once.Do(func() {
		var err error
		if e.celEnv, err = e.newEnv(); err != nil {
			panic(err) // a static declaration: a failure is a programming error
		}
	})
	return e.celEnv
}

func (e *env) samples() []activation {
	e.sampleOnce.Do(func() { e.samplesV = e.samplesFn() })
	return e.samplesV
}

// versionAtLeast is the CEL function version_at_least(version, min): dotted numeric
// comparison, false for an empty version.
var versionAtLeast = cel.Function("version_at_least",
	cel.Overload("version_at_least_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
		cel.BinaryBinding(func(a, b ref.Val) ref.Val {
			v, ok1 := a.(types.String)
			m, ok2 := b.(types.String)
			if !ok1 || !ok2 {
				return types.NewErr("version_at_least takes two strings")
			}
			return types.Bool(v != "" && osid.CompareVersions(string(v), string(m)) >= 0)
		})))

// hypervisorName is the CEL function hypervisor_name(h): an L0 hypervisor of
// topology files as its vendor writes it ("esxi" is "VMware ESXi").
var hypervisorName = cel.Function("hypervisor_name",
	cel.Overload("hypervisor_name_string", []*cel.Type{cel.StringType}, cel.StringType,
		cel.UnaryBinding(func(a ref.Val) ref.Val {
			s, ok := a.(types.String)
			if !ok {
				return types.NewErr("hypervisor_name takes a string")
			}
			return types.String(HypervisorName(string(s)))
		})))

var guestType = cel.ObjectType("facts.Guest")

func newEnvs() *envs {
	chainEnv := func() (*cel.Env, error) {
		return cel.NewEnv(
			ext.NativeTypes(ext.ParseStructTags(true), reflect.TypeFor[facts.L0](), reflect.TypeFor[facts.Guest](), reflect.TypeFor[facts.Matrix](), reflect.TypeFor[facts.OS]()),
			versionAtLeast, hypervisorName,
			cel.Variable("depth", cel.IntType),
			cel.Variable("l0", cel.ObjectType("facts.L0")),
			cel.Variable("l1", guestType),
			cel.Variable("l2", guestType),
			cel.Variable("l3", guestType),
			cel.Variable("guests", cel.ListType(guestType)),
			cel.Variable("matrix", cel.ObjectType("facts.Matrix")),
		)
	}
	hostEnv := func() (*cel.Env, error) {
		return cel.NewEnv(
			ext.NativeTypes(ext.ParseStructTags(true), reflect.TypeFor[facts.Host](), reflect.TypeFor[facts.KVM](), reflect.TypeFor[facts.Windows](), reflect.TypeFor[facts.WSL](), reflect.TypeFor[facts.L0OS](), reflect.TypeFor[facts.OS]()),
			versionAtLeast, hypervisorName,
			cel.Variable("host", cel.ObjectType("facts.Host")),
		)
	}
	return &envs{
		chain: &env{scope: ScopeChain, newEnv: chainEnv, samplesFn: chainSamples, optimize: true},
		host:  &env{scope: ScopeHost, newEnv: hostEnv, samplesFn: hostSamples},
	}
}

func (e *envs) of(s Scope) *env {
	if s == ScopeHost {
		return e.host
	}
	return e.chain
}

// compile checks an expression against the scope's declared facts (a misspelt
// field is an error here) and plans it.
func (e *env) compile(expr string) (*program, *cel.Ast, error) {
	ast := e.cached(expr)
	p := &program{env: e, ast: ast}
	if ast != nil {
		p.tracked = !e.proven[cacheKey(e.scope, expr)]
		return p, ast, nil
	}
	ast, err := e.check(expr)
	if err != nil {
		return nil, nil, err
	}
	p.ast, p.tracked = ast, !provenCheap(e, ast)
	return p, ast, nil
}

// checked holds the trees of expressions checked in this process, by scope
// and text: a policy says the same placeholder ("{{l1.name}}") in many messages,
// and a policy loaded again (the guard's, lint's tests) says most of what it
// said before. A scope's declarations are the same in every env (newEnvs), so a
// tree is a function of its key; cel-go's trees are not changed by planning.
// Bounded: past maxChecked, expressions are checked without being kept.
var checked struct {
	sync.Mutex
	m map[string]*cel.Ast
}

const maxChecked = 4096

// check compiles expr in the scope's environment, once per process.
func (e *env) check(expr string) (*cel.Ast, error) {
	key := cacheKey(e.scope, expr)
	checked.Lock()
	ast := checked.m[key]
	checked.Unlock()
	if ast != nil {
		return ast, nil
	}
	ast, iss := e.cel().Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("CEL: %s", strings.Join(strings.Fields(iss.Err().Error()), " "))
	}
	checked.Lock()
	if checked.m == nil {
		checked.m = map[string]*cel.Ast{}
	}
	if len(checked.m) < maxChecked {
		checked.m[key] = ast
	}
	checked.Unlock()
	return ast, nil
}

// provenCheap says whether the cost estimate proves the limit: an upper bound
// over facts of any string length and at most MaxGuests guests (judgeChain
// refuses longer chains). The limit is enforced at run time otherwise; tracking
// costs about a fifth of an evaluation.
func provenCheap(e *env, ast *cel.Ast) bool {
	est, err := e.cel().EstimateCost(ast, sizes{})
	return err == nil && est.Max <= CostLimit
}

// program is a checked expression, planned on first need for either of two
// uses: plainly for facts that are all known (plan's usual case), and for partial
// evaluation, which answers "unknown" where an outcome rests on unknown facts but
// costs every attribute access a pattern check.
type program struct {
	env     *env
	ast     *cel.Ast
	tracked bool
	plans   [2]struct {
		once sync.Once
		prg  cel.Program
		err  error
	}
}

func (p *program) plan(partial bool) (cel.Program, error) {
	var opts []cel.EvalOption
	if partial {
		opts = append(opts, cel.OptPartialEval)
	}
	if p.env.optimize {
		opts = append(opts, cel.OptOptimize)
	}
	popts := []cel.ProgramOption{cel.EvalOptions(opts...)}
	if p.tracked {
		popts = append(popts, cel.CostLimit(CostLimit))
	}
	prg, err := p.env.cel().Program(p.ast, popts...)
	if err != nil {
		return nil, fmt.Errorf("CEL: %w", err)
	}
	return prg, nil
}

// planned returns the plain or the partial plan, planning it on first use.
func (p *program) planned(partial bool) (cel.Program, error) {
	i := 0
	if partial {
		i = 1
	}
	pl := &p.plans[i]
	pl.once.Do(func() { pl.prg, pl.err = p.plan(partial) })
	return pl.prg, pl.err
}

// eval evaluates against an activation, partially when some facts are unknown.
func (p *program) eval(a activation) (ref.Val, error) {
	prg, err := p.planned(len(a.unknown) > 0)
	if err != nil {
		return nil, err
	}
	out, _, err := prg.Eval(a.input)
	return out, err
}

// ast returns the checked tree of an expression, nil when it does not compile.
func (e *env) ast(expr string) *cel.Ast {
	if ast := e.cached(expr); ast != nil {
		return ast
	}
	ast, err := e.check(expr)
	if err != nil {
		return nil
	}
	return ast
}

// estimate returns an upper bound of an expression's cost, for lint.
func (e *env) estimate(ast *cel.Ast) (uint64, error) {
	est, err := e.cel().EstimateCost(ast, sizes{strings: 256})
	if err != nil {
		return 0, err
	}
	return est.Max, nil
}

// sizes bounds the lists of the facts for cost estimates: at most MaxGuests
// guests in a chain. strings bounds their length; 0 leaves it unbounded, so an
// estimate holds whatever length a name has (what deciding to run a program
// untracked needs; lint uses an ordinary length, so a concatenation passes).
type sizes struct{ strings uint64 }

// MaxGuests bounds the guests of one chain (topology files allow 16 levels).
const MaxGuests = 17

func (s sizes) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if t := n.Type(); t != nil {
		switch {
		case t.Kind() == types.ListKind:
			return &checker.SizeEstimate{Min: 0, Max: MaxGuests}
		case t.Kind() == types.StringKind && s.strings > 0:
			return &checker.SizeEstimate{Min: 0, Max: s.strings}
		}
	}
	return nil
}

func (sizes) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	return nil
}

func (e *env) compileBool(expr string) (*program, error) {
	prg, ast, err := e.compile(expr)
	if err != nil {
		return nil, err
	}
	if t := ast.OutputType(); t != cel.BoolType {
		return nil, fmt.Errorf("CEL: condition must be a boolean, not %s", t)
	}
	return prg, nil
}

// activation is the variables of one evaluation and the facts among them that are
// unknown, as dotted paths ("host.os", "l0.nested").
type activation struct {
	vars    map[string]any
	unknown []string
	input   any // the PartialActivation, built once
}

func newActivation(vars map[string]any, unknown []string) activation {
	a := activation{vars: vars, unknown: unknown, input: vars}
	if len(unknown) > 0 {
		pats := make([]*cel.AttributePatternType, 0, len(unknown))
		for _, u := range unknown {
			parts := strings.Split(u, ".")
			p := cel.AttributePattern(parts[0])
			for _, q := range parts[1:] {
				if i, ok := guestIndex(q); ok {
					p = p.QualInt(i)
					continue
				}
				p = p.QualString(q)
			}
			pats = append(pats, p)
		}
		pa, err := cel.PartialVars(vars, pats...)
		if err != nil {
			panic(err) // only for a nil activation
		}
		a.input = pa
	}
	return a
}

// guestIndex reads a list index written as "[n]" in an unknown path.
func guestIndex(q string) (int64, bool) {
	if len(q) < 3 || q[0] != '[' || q[len(q)-1] != ']' {
		return 0, false
	}
	var i int64
	if _, err := fmt.Sscanf(q, "[%d]", &i); err != nil {
		return 0, false
	}
	return i, true
}

// isUnknown reports whether a path, or a prefix of it, is unknown.
func (a activation) isUnknown(path []string) bool {
	for _, u := range a.unknown {
		up := strings.Split(u, ".")
		if len(up) <= len(path) && slices.Equal(up, path[:len(up)]) {
			return true
		}
	}
	return false
}

// evalBool evaluates a condition. undetermined lists the unknown facts the
// outcome rests on, when it does; then the boolean is meaningless.
func evalBool(p *program, a activation) (hit bool, undetermined []string, err error) {
	out, err := p.eval(a)
	if err != nil {
		return false, nil, err
	}
	if u, ok := out.(*types.Unknown); ok {
		return false, trails(u), nil
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, nil, fmt.Errorf("condition gave %s, not a boolean", out.Type())
	}
	return bool(b), nil, nil
}

// trails names the unknown attributes an Unknown result rests on, sorted.
func trails(u *types.Unknown) []string {
	seen := map[string]bool{}
	for _, id := range u.IDs() {
		ts, _ := u.GetAttributeTrails(id)
		for _, t := range ts {
			seen[t.String()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// template is a message with {{expr}} parts, each a CEL expression.
type template struct {
	parts []string    // literal text; parts[i] precedes exprs[i]
	exprs []*tmplExpr // len(exprs) == len(parts)-1
	bad   bool
}

// tmplExpr is one {{expr}}. A plain field path (l0.name) is read by reflection; the
// CEL program is compiled only when needed (not a path, a path through unknown
// facts), so a run that never renders a rule never pays for compiling it.
type tmplExpr struct {
	src  string
	path []string
	env  *env
	once sync.Once
	prg  *program
	err  error
	// unknown is what the message says where the value cannot be known
	// ({{expr ?? 'words'}}): a sentence stays a sentence, never a stand-in.
	unknown    string
	hasUnknown bool
}

// splitUnknown splits "expr ?? 'words'" at its last ?? outside a string
// literal (CEL has no ?? of its own); words is a quoted string.
func splitUnknown(src string) (expr, words string, ok bool, err error) {
	var quote byte
	at := -1
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
		case c == '?' && i+1 < len(src) && src[i+1] == '?':
			at = i
			i++
		}
	}
	if at < 0 {
		return src, "", false, nil
	}
	expr, lit := strings.TrimSpace(src[:at]), strings.TrimSpace(src[at+2:])
	if len(lit) < 2 || (lit[0] != '\'' && lit[0] != '"') || lit[len(lit)-1] != lit[0] {
		return "", "", false, fmt.Errorf("after ?? comes the text for an unknown value, in quotes: %q", lit)
	}
	words = strings.ReplaceAll(lit[1:len(lit)-1], `\`+string(lit[0]), string(lit[0]))
	return expr, words, true, nil
}

func (x *tmplExpr) compile() error {
	x.once.Do(func() { x.prg, _, x.err = x.env.compile(x.src) })
	return x.err
}

func (t template) ok() bool { return !t.bad }

// parseTemplate splits s into text and expressions. With eager, every expression is
// compiled now, so lint reports CEL errors (a misspelt field) with the field's
// position.
func (e *env) parseTemplate(s string, eager bool) (template, error) {
	var t template
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if strings.Contains(rest, "}}") {
				t.bad = true
				return t, fmt.Errorf("unbalanced }} in %q", s)
			}
			t.parts = append(t.parts, rest)
			return t, nil
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			t.bad = true
			return t, fmt.Errorf("unclosed {{ in %q", s)
		}
		t.parts = append(t.parts, rest[:i])
		src, words, has, err := splitUnknown(strings.TrimSpace(rest[i+2 : i+j]))
		if err != nil {
			t.bad = true
			return t, fmt.Errorf("in {{%s}}: %w", strings.TrimSpace(rest[i+2:i+j]), err)
		}
		x := &tmplExpr{src: src, env: e, unknown: words, hasUnknown: has}
		if fieldPathRe().MatchString(x.src) {
			x.path = strings.Split(x.src, ".")
		}
		if eager {
			if err := x.compile(); err != nil {
				t.bad = true
				return t, fmt.Errorf("in {{%s}}: %w", x.src, err)
			}
		}
		t.exprs = append(t.exprs, x)
		rest = rest[i+j+2:]
	}
}

// render fills the template in. unknown reports whether a value it needed was
// unknown (shown as "[name unknown]").
func (t template) render(a activation) (s string, unknown bool, err error) {
	if len(t.exprs) == 0 {
		if len(t.parts) == 0 {
			return "", false, nil
		}
		return t.parts[0], false, nil
	}
	var b strings.Builder
	for i, p := range t.parts {
		b.WriteString(p)
		if i >= len(t.exprs) {
			continue
		}
		x := t.exprs[i]
		if x.path != nil && !a.isUnknown(x.path) {
			if s, ok := lookup(a.vars, x.path); ok {
				b.WriteString(s)
				continue
			}
		}
		if err := x.compile(); err != nil {
			return "", false, err
		}
		v, err := x.prg.eval(a)
		if err != nil {
			return "", false, err
		}
		if _, ok := v.(*types.Unknown); ok {
			unknown = true
			if x.hasUnknown {
				b.WriteString(x.unknown)
				continue
			}
		}
		b.WriteString(display(v))
	}
	return b.String(), unknown, nil
}

func display(v ref.Val) string {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case *types.Unknown:
		names := trails(x)
		for i, n := range names {
			names[i] = n[strings.LastIndex(n, ".")+1:]
		}
		return "[" + strings.Join(names, ", ") + " unknown]"
	}
	return fmt.Sprint(v.Value())
}

package policy

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/nestvirt/nestvirt/internal/osid"
)

// envs holds one CEL environment per scope, with the sample facts lint evaluates
// every expression against.
type envs struct {
	chain, host *env
}

type env struct {
	scope Scope
	cache celCache // checked trees of known expressions; nil for none
	// optimize plans programs for evaluation speed (constant folding, in-list
	// sets) at a higher cost to build: worth it for chain rules, run per chain,
	// not for host rules, run once per process.
	optimize bool

	// Built on first use: a run of `check` never needs the chain environment.
	once       sync.Once
	celEnv     *cel.Env
	newEnv     func() (*cel.Env, error)
	samplesFn  func() []map[string]any
	sampleOnce sync.Once
	samplesV   []map[string]any
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

func (e *env) samples() []map[string]any {
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

func newEnvs() *envs {
	chainEnv := func() (*cel.Env, error) {
		return cel.NewEnv(
			versionAtLeast,
			cel.Variable("depth", cel.IntType),
			cel.Variable("l0", cel.DynType),
			cel.Variable("l1", cel.DynType),
			cel.Variable("l2", cel.DynType),
			cel.Variable("l3", cel.DynType),
			cel.Variable("guests", cel.ListType(cel.DynType)),
			cel.Variable("matrix", cel.DynType),
		)
	}
	hostEnv := func() (*cel.Env, error) { return cel.NewEnv(versionAtLeast, cel.Variable("host", cel.DynType)) }
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

func (e *env) compile(expr string) (cel.Program, *cel.Ast, error) {
	ast := e.cached(expr)
	if ast == nil {
		var iss *cel.Issues
		ast, iss = e.cel().Compile(expr)
		if iss != nil && iss.Err() != nil {
			return nil, nil, fmt.Errorf("CEL: %s", oneLine(iss.Err().Error()))
		}
	}
	var opts []cel.ProgramOption
	if e.optimize {
		opts = append(opts, cel.EvalOptions(cel.OptOptimize))
	}
	prg, err := e.cel().Program(ast, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("CEL: %w", err)
	}
	return prg, ast, nil
}

func (e *env) compileBool(expr string) (cel.Program, error) {
	prg, ast, err := e.compile(expr)
	if err != nil {
		return nil, err
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("CEL: condition must be a boolean, not %s", t)
	}
	return prg, nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func evalBool(p cel.Program, vars map[string]any) (bool, error) {
	out, _, err := p.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition gave %s, not a boolean", out.Type())
	}
	return bool(b), nil
}

// template is a message with {{expr}} parts, each a CEL expression.
type template struct {
	parts []string    // literal text; parts[i] precedes exprs[i]
	exprs []*tmplExpr // len(exprs) == len(parts)-1
	bad   bool
}

// tmplExpr is one {{expr}}. A plain field path (l0.name) is a map lookup; the CEL
// program is compiled only when needed (not a path, or the lookup finds no string),
// so a run that never renders a rule never pays for compiling it.
type tmplExpr struct {
	src  string
	path []string
	env  *env
	once sync.Once
	prg  cel.Program
	err  error
}

func (x *tmplExpr) compile() error {
	x.once.Do(func() { x.prg, _, x.err = x.env.compile(x.src) })
	return x.err
}

var fieldPathRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$`)

// lookup follows a field path through the activation's maps; ok is false when the
// path does not lead to a string, and the CEL program decides.
func lookup(vars map[string]any, path []string) (string, bool) {
	var cur any = vars
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[k]; !ok {
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok
}

func (t template) ok() bool { return !t.bad }

// parseTemplate splits s into text and expressions. With eager, every expression is
// compiled now, so lint reports CEL errors with the field's position.
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
		x := &tmplExpr{src: strings.TrimSpace(rest[i+2 : i+j]), env: e}
		if fieldPathRe.MatchString(x.src) {
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

func (t template) render(vars map[string]any) (string, error) {
	if len(t.exprs) == 0 {
		if len(t.parts) == 0 {
			return "", nil
		}
		return t.parts[0], nil
	}
	var b strings.Builder
	for i, p := range t.parts {
		b.WriteString(p)
		if i >= len(t.exprs) {
			continue
		}
		x := t.exprs[i]
		if x.path != nil {
			if s, ok := lookup(vars, x.path); ok {
				b.WriteString(s)
				continue
			}
		}
		if err := x.compile(); err != nil {
			return "", err
		}
		v, _, err := x.prg.Eval(vars)
		if err != nil {
			return "", err
		}
		b.WriteString(display(v))
	}
	return b.String(), nil
}

func display(v ref.Val) string {
	switch x := v.(type) {
	case types.String:
		return string(x)
	case types.Null:
		return "unknown"
	}
	return fmt.Sprint(v.Value())
}

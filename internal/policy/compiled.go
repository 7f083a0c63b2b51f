package policy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"cel.dev/cel-go/cel"
	exprpb "google.golang.org/genproto/googleapis/api/expr/v1alpha1"
	"google.golang.org/protobuf/proto"
)

// A CEL cache holds the checked syntax trees of a policy's expressions, keyed by
// scope and the expression's own text. Parsing is most of the cost of compiling a
// CEL expression (about 130 of 170 µs here), and `nestvirt check` must start in a
// few milliseconds. The cache is derived data: an entry whose text no longer
// matches is simply not used (the expression is parsed as usual), and
// TestCompiledPolicyIsFresh fails when the embedded cache is stale.

func cacheKey(s Scope, expr string) string { return string(s) + "\x00" + expr }

// celCache maps a key to a base64 proto-encoded CheckedExpr, decoded only when the
// expression is compiled.
type celCache map[string]string

// compiledFile is the derived form of an embedded policy: the validated policy and
// the checked CEL trees of its expressions.
type compiledFile struct {
	Policy *Policy  `json:"policy"`
	CEL    celCache `json:"cel"`
	// Proven lists the keys whose cost estimate proves the limit, so they run
	// without cost tracking and nestvirt need not estimate at start.
	Proven map[string]bool `json:"proven"`
}

// BuildCompiled compiles every rule condition and template expression of p and
// returns the derived file's bytes (deterministic, so the file diffs cleanly).
func BuildCompiled(p *Policy) ([]byte, error) {
	c, proven := celCache{}, map[string]bool{}
	for _, r := range p.Rules {
		e := p.envs.of(r.Scope)
		exprs := []string{r.When}
		for _, t := range []template{r.message, r.remedy} {
			for _, x := range t.exprs {
				exprs = append(exprs, x.src)
			}
		}
		for _, src := range exprs {
			ast, iss := e.cel().Compile(src)
			if iss != nil && iss.Err() != nil {
				return nil, iss.Err()
			}
			ce, err := cel.AstToCheckedExpr(ast)
			if err != nil {
				return nil, err
			}
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(ce)
			if err != nil {
				return nil, err
			}
			c[cacheKey(r.Scope, src)] = base64.StdEncoding.EncodeToString(b)
			if provenCheap(e, ast) {
				proven[cacheKey(r.Scope, src)] = true
			}
		}
	}
	return json.MarshalIndent(compiledFile{Policy: p, CEL: c, Proven: proven}, "", " ") // map keys come sorted
}

// loadCompiled rebuilds a policy from its derived file, for lazy compilation: no
// YAML to parse, and checked CEL trees for every expression.
func loadCompiled(data []byte) (*Policy, error) {
	var f compiledFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	if f.Policy == nil {
		return nil, fmt.Errorf("no policy in the compiled file")
	}
	p := f.Policy
	p.lazy = true
	p.envs = newEnvs()
	p.envs.chain.cache, p.envs.host.cache = f.CEL, f.CEL
	p.envs.chain.proven, p.envs.host.proven = f.Proven, f.Proven
	for id, s := range p.Sources {
		s.ID = id
		p.Sources[id] = s
	}
	for _, r := range p.Rules {
		e := p.envs.of(r.Scope)
		var err error
		if r.message, err = e.parseTemplate(r.Message, false); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
		if r.remedy, err = e.parseTemplate(r.Remedy, false); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.ID, err)
		}
	}
	cites := make(map[string]string, len(p.Sources))
	for id := range p.Sources {
		cites[id] = p.Cite(id)
	}
	p.cites = cites
	return p, nil
}

// cached returns the checked tree of expr from the cache, or nil.
func (e *env) cached(expr string) *cel.Ast {
	if e.cache == nil {
		return nil
	}
	enc, ok := e.cache[cacheKey(e.scope, expr)]
	if !ok {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil
	}
	var ce exprpb.CheckedExpr
	if proto.Unmarshal(b, &ce) != nil {
		return nil
	}
	return cel.CheckedExprToAst(&ce)
}

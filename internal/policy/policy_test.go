package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

func TestEmbeddedPolicyIsValid(t *testing.T) {
	for _, name := range EmbeddedNames() {
		p, err := Embedded(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(p.Matrix) == 0 || len(p.Rules) == 0 {
			t.Errorf("%s: %d rows, %d rules", name, len(p.Matrix), len(p.Rules))
		}
	}
}

func TestEveryRuleAndRowCitesAKnownSource(t *testing.T) {
	p := Default()
	for _, r := range p.Rules {
		if _, ok := p.Sources[r.Source]; !ok {
			t.Errorf("rule %s cites %q", r.ID, r.Source)
		}
	}
	for _, r := range p.Matrix {
		if _, ok := p.Sources[r.Source]; !ok {
			t.Errorf("row %s cites %q", r.ID, r.Source)
		}
	}
}

func TestLintReportsEveryProblemWithItsPath(t *testing.T) {
	data, err := os.ReadFile("testdata/broken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load("broken.yaml", data)
	probs, ok := err.(strictyaml.Problems)
	if !ok {
		t.Fatalf("want Problems, got %s", err)
	}
	text := err.Error()
	for _, want := range []string{
		`matrix[0].l0.os[1]: unknown OS family "solaris"`,
		`matrix[0].l0.arch[1]: unknown value "arm"`,
		`matrix[0].l1[0].runs: missing`,
		`matrix[0].l2[0].runs: runs belongs to L1 entries`,
		`rules[1].id: duplicate id "ok-rule"`,
		`rules[2].when: CEL: `,
		`rules[3].level: unknown level "tech-prevew"`,
		`did you mean "tech-preview"?`,
		`rules[4].when: CEL: ERROR: <input>:1:3: undefined field 'nestd'`,
		`rules[5].source: unknown source "s2"; did you mean "s1"?`,
		`rules[5].remdy: unknown key "remdy"; did you mean "remedy"?`,
		`rules[5].message: in {{l1.nme}}: CEL: ERROR: <input>:1:3: undefined field 'nme'`,
		`rules[6].when: CEL: condition must be a boolean, not int`,
		`rules[7].when: "guests.all(a, guests.all(b,`,
		`over the limit of 100000`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lint output lacks %q", want)
		}
	}
	if len(probs) < 12 {
		t.Errorf("want every problem at once, got %d:\n%s", len(probs), text)
	}
	for _, p := range probs {
		if p.Line == 0 {
			t.Errorf("problem without a line: %v", p)
		}
	}
}

func TestLevelsAreOrderedBestToWorst(t *testing.T) {
	want := "supported tech-preview unsupported untested not-expected-to-work does-not-work"
	if got := strings.Join(LevelNames(), " "); got != want {
		t.Fatalf("levels %q", got)
	}
	for i, l := range Levels() {
		back, err := ParseLevel(l.String())
		if err != nil || back != l || int(l) != i {
			t.Errorf("level %d round trip: %v %v", i, back, err)
		}
	}
	if _, err := ParseLevel("tech-prevew"); err == nil {
		t.Error("typo accepted")
	}
}

func FuzzLoad(f *testing.F) {
	for _, path := range []string{"../../policies/rhel-10.yaml", "testdata/broken.yaml"} {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Load("fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(strictyaml.Problems); !ok {
				t.Fatalf("error is not Problems: %s", err)
			}
			return
		}
		for _, r := range p.Rules {
			if r.when == nil {
				t.Fatalf("rule %s loaded without a compiled condition", r.ID)
			}
		}
	})
}

func TestCompiledPolicyIsFresh(t *testing.T) {
	for _, name := range EmbeddedNames() {
		p, err := Embedded(name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := BuildCompiled(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile("../../policies/" + CompiledName(name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
			t.Errorf("policies/%s is stale: run go run ./scripts/compilepolicy", CompiledName(name))
		}
	}
}

func TestCompiledPolicyMatchesTheYAML(t *testing.T) {
	fromYAML, err := Embedded("rhel-10.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromYAML)
	b, _ := json.Marshal(Default())
	if string(a) != string(b) || len(Default().cites) != len(fromYAML.cites) {
		t.Errorf("the compiled policy differs from the YAML:\n%s\n%s", a, b)
	}
	for id := range fromYAML.Sources {
		if Default().Cite(id) != fromYAML.Cite(id) {
			t.Errorf("citation %s differs", id)
		}
	}
}

func TestCachedAndParsedExpressionsJudgeAlike(t *testing.T) {
	cached := Default() // with the embedded CEL cache
	data, _ := os.ReadFile("../../policies/rhel-10.yaml")
	parsed, err := loadLazy("x", data) // no cache: every expression parsed
	if err != nil {
		t.Fatal(err)
	}
	if cached.envs.host.cache == nil || parsed.envs.host.cache != nil {
		t.Fatal("test setup: cache presence")
	}
	h := facts.Host{Arch: "x86_64", CPUVendor: "amd", Module: "kvm_amd", Flag: "svm", Nestable: true, VirtExt: "svm", VM: "none", Hypervisor: "none",
		Container: "none", KVM: facts.KVM{Available: true, Module: "kvm_amd", Nested: true}, Unknown: []string{"os", "migration", "l0"}}
	a, err1 := cached.JudgeHost(h)
	b, err2 := parsed.JudgeHost(h)
	if err1 != nil || err2 != nil || len(a) == 0 || len(a) != len(b) {
		t.Fatalf("cached %v %v, parsed %v %v", a, err1, b, err2)
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Errorf("%+v != %+v", a[i], b[i])
		}
	}
}

// fieldRefs finds the field references of a CEL expression: ".name" outside
// string literals, not followed by "(" (a method or macro).
func fieldRefs(expr string) []int {
	var out []int
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\'' || c == '"':
			for i++; i < len(expr) && expr[i] != c; i++ {
			}
		case c == '.' && i+1 < len(expr) && (expr[i+1] == '_' || (expr[i+1] >= 'a' && expr[i+1] <= 'z')):
			j := i + 1
			for j < len(expr) && (expr[j] == '_' || (expr[j] >= 'a' && expr[j] <= 'z') || (expr[j] >= '0' && expr[j] <= '9')) {
				j++
			}
			if j < len(expr) && expr[j] == '(' {
				continue
			}
			out = append(out, j) // where the name ends
		}
	}
	return out
}

// findFolded finds src in text where a folded YAML scalar (>-) may have broken
// any space into a newline and indentation, and maps each offset of src (and
// its end) to the offset in text; nil when src is not there.
func findFolded(text, src string) []int {
	for start := 0; start < len(text); start++ {
		offs := make([]int, 0, len(src)+1)
		i, j := start, 0
		for j < len(src) && i < len(text) {
			switch {
			case src[j] == ' ' && (text[i] == ' ' || text[i] == '\n'):
				offs = append(offs, i)
				for i < len(text) && (text[i] == ' ' || text[i] == '\n') {
					i++
				}
				j++
			case src[j] == text[i]:
				offs = append(offs, i)
				i, j = i+1, j+1
			default:
				i = -1
			}
			if i < 0 {
				break
			}
		}
		if i >= 0 && j == len(src) {
			return append(offs, i)
		}
	}
	return nil
}

// TestEveryMisspeltFieldOfTheShippedPolicyFailsLint misspells each field reference
// of each condition and {{expression}} of the shipped policy, one at a time, and
// lints the result: every one must fail, and name the rule.
func TestEveryMisspeltFieldOfTheShippedPolicyFailsLint(t *testing.T) {
	data, err := os.ReadFile("../../policies/rhel-10.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	p, err := Load("rhel-10.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	mutations := 0
	for i, r := range p.Rules {
		at := strings.Index(text, "- id: "+r.ID+"\n")
		if at < 0 {
			t.Fatalf("rule %s not found in the file", r.ID)
		}
		for _, x := range ruleExprs(r) {
			offs := findFolded(text[at:], x.src)
			if offs == nil {
				t.Fatalf("rule %s: %q not found in the file", r.ID, x.src)
			}
			for _, end := range fieldRefs(x.src) {
				mutated := x.src[:end] + "x" + x.src[end:]
				k := at + offs[end]
				bad := text[:k] + "x" + text[k:]
				_, err := Load("mutated.yaml", []byte(bad))
				mutations++
				if err == nil {
					t.Errorf("rule %s: lint accepts the misspelt %q", r.ID, mutated)
				} else if !strings.Contains(err.Error(), fmt.Sprintf("rules[%d]", i)) {
					t.Errorf("rule %s: lint fails %q but does not name the rule: %v", r.ID, mutated, err)
				}
			}
		}
	}
	if mutations < 150 {
		t.Errorf("only %d field references mutated", mutations)
	}
	t.Logf("%d misspelt field references, each refused by lint", mutations)
}

func TestAnExpressionPastTheCostLimitStops(t *testing.T) {
	e := newEnvs().chain
	list := "[" + strings.Repeat("1,", 99) + "1]"
	prg, _, err := e.compile(list + ".all(a, " + list + ".all(b, " + list + ".all(c, a + b + c > 0)))")
	if err != nil {
		t.Fatal(err)
	}
	c := Chain{L0: facts.L0{Name: "h"}}
	_, _, err = evalBool(prg, c.activation(&facts.Matrix{}))
	if err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("err = %v, want the cost limit", err)
	}
}

// TestOnlyProvenCheapProgramsRunUntracked: a condition whose estimate proves it
// under the limit runs without cost tracking; one that cannot be proven (over
// the guests list, over a string of any length) keeps it, with or without
// unknown facts; and a chain longer than the estimates assume is refused.
func TestOnlyProvenCheapProgramsRunUntracked(t *testing.T) {
	e := newEnvs().chain
	for expr, tracked := range map[string]bool{
		"depth >= 2 && l0.cpu == 'amd'": false,
		"guests.all(g, guests.all(h, guests.all(i, guests.all(j, guests.all(k, g.name + h.name + i.name + j.name + k.name != '')))))": true,
		"l0.name.matches('^a+$')": true,
	} {
		prg, _, err := e.compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		if prg.tracked != tracked {
			t.Errorf("%s: tracked %v, want %v", expr, prg.tracked, tracked)
		}
	}
	prg, _, _ := e.compile("guests.all(g, guests.all(h, guests.all(i, guests.all(j, guests.all(k, g.name + h.name + i.name + j.name + k.name != '')))))")
	guests := make([]facts.Guest, MaxGuests)
	for i := range guests {
		guests[i] = facts.Guest{Present: true, Name: strings.Repeat("x", 1000)}
	}
	for _, unknown := range [][]string{nil, {"l0.os"}} {
		c := Chain{L0: facts.L0{Name: "h"}, Guests: guests, Unknown: unknown}
		if _, _, err := evalBool(prg, c.activation(&facts.Matrix{})); err == nil || !strings.Contains(err.Error(), "cost limit") {
			t.Errorf("unknown %v: err = %v, want the cost limit", unknown, err)
		}
	}
	// The shipped conditions are all proven, from the compiled file.
	p := Default()
	for _, s := range []Scope{ScopeChain, ScopeHost} {
		if err := p.Prepare(s); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range p.Rules {
		if r.when == nil || r.when.tracked {
			t.Errorf("rule %s: its condition is not proven cheap from the compiled file", r.ID)
		}
	}
	long := Chain{L0: facts.L0{Name: "h"}, Guests: append(guests, facts.Guest{Present: true, Name: "one too many"}), Path: []string{"h"}}
	if _, err := Default().JudgeChain(long); err == nil || !strings.Contains(err.Error(), "the limit is 17") {
		t.Errorf("a chain of %d guests: %v", len(long.Guests), err)
	}
}

// version says the embedded policy's name and title from the head of its
// compiled file; they are the ones Default decodes.
func TestDefaultHeadIsDefaultsNameAndTitle(t *testing.T) {
	name, title := DefaultHead()
	if p := Default(); name != p.Name || title != p.Title || name == "" || title == "" {
		t.Errorf("head %q %q, policy %q %q", name, title, p.Name, p.Title)
	}
}

// TestAPolicyLoadedAgainJudgesAlike: expressions checked once in a process are
// kept (env.check); a policy loaded with them kept judges every chain as one
// loaded with each expression checked afresh.
func TestAPolicyLoadedAgainJudgesAlike(t *testing.T) {
	data, err := os.ReadFile("../../policies/rhel-10.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checked.Lock()
	checked.m = nil
	checked.Unlock()
	fresh, err := loadLazy("x", data)
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Prepare(ScopeChain); err != nil {
		t.Fatal(err)
	}
	checked.Lock()
	kept := len(checked.m)
	checked.Unlock()
	again, err := loadLazy("x", data)
	if err != nil {
		t.Fatal(err)
	}
	if kept == 0 {
		t.Fatal("no checked expression was kept")
	}
	var chains []Chain
	for _, osID := range []string{"rhel10.0", "rhel9.6", "rhel8.10", "ubuntu24.04", "win11", "win2k22"} {
		o, err := osid.Parse(osID)
		if err != nil {
			t.Fatal(err)
		}
		for _, runs := range []string{"kvm", "hyper-v", "wsl2", "none"} {
			for _, cpu := range []string{"intel", "amd"} {
				l0 := facts.L0{Name: "h", OS: facts.OSOf(osid.OS{ID: "rhel10.0", Family: "rhel", Kind: osid.Linux, Version: "10.0"}), Arch: "x86_64", CPU: cpu,
					Module: "kvm_" + cpu, Nestable: true, Hypervisor: "kvm", Platform: "rhel", Nested: true, Seen: true}
				g := []facts.Guest{{Present: true, Name: "l1", OS: facts.OSOf(o), Runs: runs, Exposes: true},
					{Present: true, Name: "l2", OS: facts.OSOf(o), Runs: "none"}}
				chains = append(chains, Chain{Path: []string{"h", "l1", "l2"}, L0: l0, Guests: g},
					Chain{Path: []string{"h", "l1"}, L0: l0, Guests: g[:1], Unknown: []string{"l1.exposes"}})
			}
		}
	}
	a, err1 := fresh.JudgeChains(chains)
	b, err2 := again.JudgeChains(chains)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			t.Errorf("chain %d: fresh %+v, kept %+v", i, a[i], b[i])
		}
	}
	t.Logf("%d chains judged alike; %d checked expressions kept", len(chains), kept)
}

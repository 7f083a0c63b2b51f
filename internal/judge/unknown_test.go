package judge

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// factPaths lists every fact of probe.Facts that can be unknown (a pointer
// field, at any depth), as JSON paths, with a setter that makes it unknown:
// generated from the type, so a fact added there is covered here.
func factPaths(t reflect.Type, prefix []int, name string) []fact {
	var out []fact
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		path := append(append([]int(nil), prefix...), i)
		n := strings.TrimPrefix(name+"."+tag, ".")
		switch {
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() != reflect.Struct:
			out = append(out, fact{n, path})
		case f.Type.Kind() == reflect.Pointer: // os, windows: the whole, and each part
			out = append(out, fact{n, path})
			out = append(out, factPaths(f.Type.Elem(), path, n)...)
		case f.Type.Kind() == reflect.Struct:
			out = append(out, factPaths(f.Type, path, n)...)
		}
	}
	return out
}

type fact struct {
	name  string
	index []int
}

// without is f with this fact unknown.
func (x fact) without(f probe.Facts) probe.Facts {
	b, _ := json.Marshal(f)
	var c probe.Facts
	json.Unmarshal(b, &c)
	v, err := reflect.ValueOf(&c).Elem().FieldByIndexErr(x.index)
	if err != nil || v.Kind() != reflect.Pointer {
		return c // inside a part this machine does not have (windows on Linux)
	}
	v.Set(reflect.Zero(v.Type()))
	return c
}

// TestAVerdictNeverRestsOnAnUnknownFact makes every fact the policy reads
// unknown, one at a time, on machines whose verdict is a placement (supported,
// Technology Preview): a placement that rested on the fact is gone (the
// verdict is then no better than unsupported) and an undetermined finding names
// the fact; a placement that did not rest on it stays, and nothing that was
// decided is decided otherwise.
func TestAVerdictNeverRestsOnAnUnknownFact(t *testing.T) {
	rhel10 := "rhel10.0"
	facts := factPaths(reflect.TypeOf(probe.Facts{}), nil, "")
	if len(facts) < 30 {
		t.Fatalf("only %d facts generated from probe.Facts", len(facts))
	}
	dropped := 0
	for _, snap := range []string{"intel-l0-ready", "amd-l0-nested", "rhel96-l1-on-kvm", "win10-l1-wsl2"} {
		base := probeDir(t, snapshots+snap+"/root")
		no := false
		base.Stated.Migration, base.Stated.L0OS = &no, &rhel10
		want := check(t, base)
		if want.Verdict > policy.TechPreview {
			t.Fatalf("%s: verdict %s is not a placement", snap, want.Verdict)
		}
		known := Host(base).Unknown
		for _, x := range facts {
			f := x.without(base)
			added := slices.DeleteFunc(Host(f).Unknown, func(u string) bool { return slices.Contains(known, u) })
			if len(added) == 0 {
				continue // the policy does not read it, or it was unknown already
			}
			t.Run(snap+"/"+x.name, func(t *testing.T) {
				got := check(t, f)
				names := func(fd policy.Finding) bool {
					for _, u := range fd.Unknown {
						for _, a := range added {
							if u == "host."+a || strings.HasPrefix(u, "host."+a+".") || strings.HasPrefix("host."+a, u+".") {
								return true
							}
						}
					}
					return false
				}
				for _, before := range want.Findings {
					if before.Informational || before.Undetermined {
						continue
					}
					i := slices.IndexFunc(got.Findings, func(fd policy.Finding) bool { return fd.Rule == before.Rule })
					switch {
					case i < 0:
						t.Errorf("%s was decided; with %s unknown it is gone, not undetermined", before.Rule, x.name)
					case got.Findings[i].Undetermined && !names(got.Findings[i]):
						t.Errorf("%s is undetermined without naming %v: %v", before.Rule, added, got.Findings[i].Unknown)
					case got.Findings[i].Undetermined && before.Level <= policy.TechPreview && got.Verdict <= policy.TechPreview:
						t.Errorf("the placement %s rests on %s, unknown now, and the verdict is still %s", before.Rule, x.name, got.Verdict)
					case got.Findings[i].Undetermined:
						dropped++
					}
				}
				if got.Verdict < want.Verdict {
					t.Errorf("with %s unknown the verdict got better: %s, was %s", x.name, got.Verdict, want.Verdict)
				}
			})
		}
	}
	if dropped < 20 {
		t.Errorf("only %d decided findings became undetermined: the test is not reaching the facts the verdicts rest on", dropped)
	}
	t.Logf("%d facts generated; %d decided findings became undetermined, each naming its fact", len(facts), dropped)
}

// celPaths lists the paths rules can name in t, by the cel tags: "arch",
// "kvm.nested", "os.version"; a struct's own path is one too.
func celPaths(t reflect.Type, prefix string, out map[string]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("cel")
		if tag == "" || tag == "-" {
			continue
		}
		p := strings.TrimPrefix(prefix+"."+tag, ".")
		out[p] = true
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			celPaths(ft, p, out)
		}
	}
}

// TestEveryUnknownFactIsAFactRulesCanName: the unknown facts Host reports,
// whichever probe fact is missing, are paths of facts.Host as rules name them
// (its cel tags): a path typed in host.go that no rule could read fails here.
func TestEveryUnknownFactIsAFactRulesCanName(t *testing.T) {
	valid := map[string]bool{}
	celPaths(reflect.TypeOf(facts.Host{}), "", valid)
	seen := map[string]bool{}
	for _, snap := range []string{"intel-l0-ready", "amd-l0-nested", "rhel96-l1-on-kvm", "win10-l1-wsl2", "s390x-level2"} {
		base := probeDir(t, snapshots+snap+"/root")
		for _, x := range factPaths(reflect.TypeOf(probe.Facts{}), nil, "") {
			for _, u := range Host(x.without(base)).Unknown {
				seen[u] = true
			}
		}
		for _, u := range Host(probe.Facts{}).Unknown {
			seen[u] = true
		}
	}
	if len(seen) < 15 {
		t.Fatalf("only %d unknown facts seen", len(seen))
	}
	for u := range seen {
		if !valid[u] {
			t.Errorf("Host reports %q unknown: no field of facts.Host has that cel path", u)
		}
	}
}

package judge

import (
	"strings"

	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Possibility is what stating one fact nestvirt cannot read would make the
// verdict: judged again with the statement, not guessed. A "could be" line is
// printed only from one.
type Possibility struct {
	Level policy.Level `json:"level"`
	Rule  string       `json:"rule"` // the undetermined finding that would decide
	Fact  string       `json:"fact"` // host.l0.os, host.migration
	Flag  string       `json:"flag"` // --l0-os rhel10.0, --migrates yes
	// If is the statement in words: "the L0 below runs RHEL 10.0".
	If string `json:"if"`
	// File is the same statement in host.yaml: "l0: {os: rhel10.0}".
	File string `json:"file"`
}

// statements are the facts an admin can state (flags, host.yaml) and the
// values a possibility is tried with: the L0's OS at each RHEL release the
// tables name, and whether the VMs migrate.
var statements = []struct {
	fact, flag string
	values     []string
	set        func(f *probe.Facts, v string)
	words      func(v string) (in, file string)
}{
	{"host.l0.os", "--l0-os", []string{"rhel10.0", "rhel9.6", "rhel9.2"}, func(f *probe.Facts, v string) { f.Stated.L0OS = &v },
		func(v string) (string, string) {
			name := v
			if o, err := osid.Parse(v); err == nil {
				name = o.String()
			}
			return "the L0 below runs " + name, "l0: {os: " + v + "}"
		}},
	{"host.migration", "--migrates", []string{"no", "yes"}, func(f *probe.Facts, v string) { b := v == "yes"; f.Stated.Migration = &b },
		func(v string) (string, string) {
			if v == "yes" {
				return "this host live-migrates its VMs", "migration: true"
			}
			return "this host does not live-migrate its VMs", "migration: false"
		}},
}

// Possibilities lists, for each undetermined finding that rests on one fact an
// admin can state, the statement that makes the verdict that finding's level,
// found by judging again. A finding a worse decided one outranks whatever is
// stated (an L1 of Red Hat's other offerings stays untested with any L0 OS)
// has none.
func Possibilities(p *policy.Policy, r CheckResult) []Possibility {
	var out []Possibility
	for _, f := range r.Findings {
		if !f.Undetermined || f.Informational || f.Level == r.Verdict || len(f.Unknown) != 1 {
			continue
		}
		for _, st := range statements {
			if u := f.Unknown[0]; u != st.fact && !strings.HasPrefix(st.fact, u+".") {
				continue // host.l0 (the whole L0) is what --l0-os states too
			}
			for _, v := range st.values {
				facts := r.Host
				facts.Stated.From = append([]string(nil), facts.Stated.From...)
				st.set(&facts, v)
				again, err := judgeHost(p, facts)
				if err != nil || again.Verdict != f.Level || !isDecided(again, f.Rule) {
					continue
				}
				in, file := st.words(v)
				out = append(out, Possibility{Level: f.Level, Rule: f.Rule, Fact: st.fact, Flag: st.flag + " " + v, If: in, File: file})
				break
			}
		}
	}
	return out
}

func isDecided(r CheckResult, rule string) bool {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return !f.Undetermined
		}
	}
	return false
}

package judge

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

var (
	// placeholder: a template's stand-in for a value it could not read.
	placeholder = regexp.MustCompile(`\[[a-z0-9 _.,-]* unknown\]`)
	// keyPath: a fact's path as the rules name it, which is not English.
	keyPath = regexp.MustCompile(`\b(host|l[0-3])\.[a-z_]+(\.[a-z_]+)*\b`)
	// andLater: a row's range ("RHEL 10.0 and later") said of one machine.
	andLater = regexp.MustCompile(`\b(runs|is|runs on|L0 runs) [A-Za-z]+ [0-9][0-9.]* and later`)
)

// sayWell fails on what a finding's text must never hold.
func sayWell(t *testing.T, where string, fs []policy.Finding) {
	t.Helper()
	for _, f := range fs {
		for _, text := range []string{f.Message, f.Remedy} {
			switch {
			case placeholder.MatchString(text):
				t.Errorf("%s: %s says %q: %s", where, f.Rule, placeholder.FindString(text), text)
			case keyPath.MatchString(strings.ReplaceAll(text, "host.yaml", "")):
				t.Errorf("%s: %s names a key path %q: %s", where, f.Rule, keyPath.FindString(text), text)
			case andLater.MatchString(text):
				t.Errorf("%s: %s says a row's range of one machine (%q): %s", where, f.Rule, andLater.FindString(text), text)
			}
		}
	}
}

// TestMessagesAreComposedOfKnownValuesOnly: every rule's message and remedy is
// rendered for every snapshot with each fact the policy reads unknown in turn
// (and for the VMs of real domain XML on each): no "[l0 unknown]" stand-in, no
// key path, no "RHEL 10.0 and later" said of one machine. An unknown is said
// in words.
func TestMessagesAreComposedOfKnownValuesOnly(t *testing.T) {
	entries, err := os.ReadDir(snapshots)
	if err != nil {
		t.Fatal(err)
	}
	facts := factPaths(reflect.TypeOf(probe.Facts{}), nil, "")
	var recs []domxml.Record
	for _, f := range []string{"plain.xml", "rhel-lab.xml", "win11-wsl2.xml"} {
		b, err := os.ReadFile("../domxml/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, domxml.Record{Name: strings.TrimSuffix(f, ".xml"), State: "shut off", XML: b})
	}
	n := 0
	for _, e := range entries {
		base := probeDir(t, snapshots+e.Name()+"/root")
		variants := []probe.Facts{base}
		for _, x := range facts {
			variants = append(variants, x.without(base))
		}
		for i, f := range variants {
			where := e.Name()
			if i > 0 {
				where += " without " + facts[i-1].name
			}
			r, err := Check(policy.Default(), f)
			if err != nil {
				t.Fatal(err)
			}
			sayWell(t, where, r.Findings)
			if i%8 == 0 { // the VMs' chains, on a sample of the variants
				a := VMs(policy.Default(), f, recs, nil)
				for _, v := range a.VMs {
					for _, c := range v.Chains {
						sayWell(t, where+", VM "+v.Name, c.Findings)
					}
				}
			}
			n++
		}
	}
	t.Logf("%d machines' findings read", n)
}

// Package recorded reads what nestvirt recorded of a host into a sosreport
// (the sos_extras drop-in, deploy/sos/nestvirt: its check and vms documents,
// its version and policy, the guard's status), and compares the recorded
// judgement with one made now from the report's files. The recorded documents
// are the host's word about itself at that time: they are decoded with the
// fleet's bounded reader and validated, and one that fails is reported, never
// trusted.
package recorded

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/fleet"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Dir is where sos keeps the drop-in's command outputs: sos_extras names the
// subdirectory after the drop-in's file.
const Dir = "sos_commands/sos_extras/nestvirt"

// Files are the report's files under Dir, by name.
type Files map[string][]byte

// Record is what nestvirt recorded on the host.
type Record struct {
	Source      string // the report's directory of it
	Version     string // nestvirt's version line; "" when not recorded
	Policy      string // "rhel-10: RHEL 10 ..." from the same output; "" when not recorded
	GuardStatus string // guard status's first line; "" when not recorded
	Check       *doc.CheckDoc
	CheckFile   string
	CheckErr    error // the recorded check document is not valid: reported, not trusted
	VMs         *doc.VMsDoc
	VMsFile     string
	VMsErr      error
}

// Read reads the drop-in's outputs; nil when the report holds none.
func Read(files Files) *Record {
	if len(files) == 0 {
		return nil
	}
	r := &Record{Source: Dir}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name]
		// sos names an output after its command line, each character that is
		// not [\w.-] turned into '_': nestvirt_check_--format_json_...
		switch {
		case strings.HasPrefix(name, "nestvirt_check"):
			r.CheckFile = path.Join(Dir, name)
			var d doc.CheckDoc
			if err := fleet.Decode("check", data, &d); err != nil {
				r.CheckErr = fmt.Errorf("%s: not a valid check document: %w", r.CheckFile, err)
			} else {
				r.Check = &d
			}
		case strings.HasPrefix(name, "nestvirt_vms"):
			r.VMsFile = path.Join(Dir, name)
			var d doc.VMsDoc
			if err := fleet.Decode("vms", data, &d); err != nil {
				r.VMsErr = fmt.Errorf("%s: not a valid vms document: %w", r.VMsFile, err)
			} else {
				r.VMs = &d
			}
		case strings.HasPrefix(name, "nestvirt_version"):
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			r.Version = clip(lines[0])
			if len(lines) > 1 {
				r.Policy = clip(strings.TrimPrefix(lines[1], "policy "))
			}
		case strings.HasPrefix(name, "nestvirt_guard_status"):
			r.GuardStatus = clip(strings.SplitN(strings.TrimSpace(string(data)), "\n", 2)[0])
		}
	}
	return r
}

// clip bounds a recorded line: it is the host's text, shown as it is.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// Rule names the finding that says how the recorded judgement and today's
// differ.
const Rule = "sos-recorded-differs"

// Source is what that finding rests on: nestvirt's own comparison.
const Source = "nestvirt's reading, not a quotation: the check nestvirt ran on the host when the sosreport was collected (its sos_extras drop-in), beside the judgement of the report's files made now"

// Differs compares the recorded check with the judgement made now from the
// report: nil when they agree (same verdict, same decided findings). Its
// message says what differs: the verdict, the rules found then and not now
// or now and not then, the live nesting value, the version and policy.
func Differs(rec *Record, verdict policy.Level, findings []policy.Finding, facts probe.Facts, policyNow string) *policy.Finding {
	if rec == nil || rec.Check == nil || rec.Check.Verdict == nil {
		return nil
	}
	then, now := decided(rec.Check.Findings), decided(findings)
	var parts []string
	if *rec.Check.Verdict != verdict {
		parts = append(parts, fmt.Sprintf("the host judged itself %s then; its report's files are judged %s now", *rec.Check.Verdict, verdict))
	}
	if gone := minus(then, now); len(gone) > 0 {
		parts = append(parts, "found then, not now: "+strings.Join(gone, ", "))
	}
	if added := minus(now, then); len(added) > 0 {
		parts = append(parts, "found now, not then: "+strings.Join(added, ", "))
	}
	if len(parts) == 0 {
		return nil
	}
	if h := rec.Check.Host; h != nil && h.KVM.Nested != nil && facts.KVM.Nested != nil && *h.KVM.Nested != *facts.KVM.Nested {
		parts = append(parts, fmt.Sprintf("nesting was %s when nestvirt ran and is %s in the report's files", onOff(*h.KVM.Nested), onOff(*facts.KVM.Nested)))
	}
	if name, _, _ := strings.Cut(rec.Policy, ":"); rec.Policy != "" && policyNow != "" && name != policyNow {
		parts = append(parts, fmt.Sprintf("the host judged with policy %s, this nestvirt with %s", rec.Policy, policyNow))
	}
	if rec.Version != "" {
		parts = append(parts, "recorded by "+rec.Version)
	}
	return &policy.Finding{
		Rule: Rule, Level: verdict, Informational: true, Unknown: []string{},
		Message: "What nestvirt recorded on the host differs from what its report shows now: " + strings.Join(parts, "; ") + ".",
		Source:  Source,
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// decided are the rules of the findings that count toward a verdict.
func decided(fs []policy.Finding) []string {
	var out []string
	for _, f := range fs {
		if !f.Informational && !f.Undetermined && !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	slices.Sort(out)
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Part is the record as the check and vms documents carry it.
func (r *Record) Part() *doc.RecordedPart {
	if r == nil {
		return nil
	}
	p := &doc.RecordedPart{Source: r.Source, Findings: []policy.Finding{}, VMs: []doc.RecordedVM{}, Problems: []string{}}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	p.Version, p.Policy, p.GuardStatus = opt(r.Version), opt(r.Policy), opt(r.GuardStatus)
	for _, err := range []error{r.CheckErr, r.VMsErr} {
		if err != nil {
			p.Problems = append(p.Problems, strings.Join(strings.Fields(err.Error()), " "))
		}
	}
	if c := r.Check; c != nil {
		p.CheckedAt, p.Verdict = c.CheckedAt, c.Verdict
		p.Findings = append(p.Findings, c.Findings...)
	}
	if v := r.VMs; v != nil {
		if p.CheckedAt == nil {
			p.CheckedAt = v.CheckedAt
		}
		for _, e := range v.VMs {
			p.VMs = append(p.VMs, doc.RecordedVM{Name: e.Name, Verdict: e.Verdict})
		}
	}
	return p
}

// VMsDiffer says, one line each, which VMs the host judged otherwise than
// the report's domains are judged now, and which it listed that the report
// does not hold or the reverse.
func VMsDiffer(rec *Record, now map[string]policy.Level) []string {
	if rec == nil || rec.VMs == nil {
		return nil
	}
	var out []string
	then := map[string]policy.Level{}
	for _, v := range rec.VMs.VMs {
		then[v.Name] = v.Verdict
	}
	for _, name := range slices.Sorted(maps.Keys(then)) {
		l, ok := now[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("recorded on the host: %s (%s then) is not among the report's domains", name, then[name]))
		case l != then[name]:
			out = append(out, fmt.Sprintf("recorded on the host: %s was judged %s then, %s now from the report's files", name, then[name], l))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(now)) {
		if _, ok := then[name]; !ok {
			out = append(out, fmt.Sprintf("recorded on the host: %s is in the report's domains but was not in the host's vms document", name))
		}
	}
	return out
}

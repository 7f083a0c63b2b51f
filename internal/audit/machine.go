package audit

import (
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/recorded"
)

// Machine judges the host inspect read. A policy that cannot judge these facts
// is said in the host's notes, and the rest is judged. A machine read from a
// sosreport in which nestvirt recorded its own answer gets a finding when that
// answer and this one differ.
func Machine(p *policy.Policy, m inspect.Machine) judge.CheckResult {
	res, err := judge.Check(p, m.Facts)
	if err != nil {
		res.Host.Notes = append(res.Host.Notes, "policy: "+err.Error())
	}
	if f := recorded.Differs(m.Recorded, res.Verdict, res.Findings, m.Facts, p.Name); f != nil {
		res.Findings = append(res.Findings, *f)
	}
	return res
}

// Check judges machine m (Machine) and, with vms, its VMs: a sosreport's own
// domains when m was read from one (no libvirt is asked), else those of this
// machine's daemon, which vms names (its facts are m's: ThisMachine). The VMs'
// verdicts fold into the host's. The host's result stands when the VMs could
// not be judged, and err says why.
func Check(p *policy.Policy, m inspect.Machine, vms *Options) (judge.CheckResult, *judge.Audit, error) {
	res := Machine(p, m)
	if vms == nil {
		return res, nil, nil
	}
	var a judge.Audit
	if m.Report != nil {
		a = Sosreport(p, m)
	} else {
		o := *vms
		o.Local, o.ThisMachine = m.Known(), true
		r, err := Run(p, o)
		if err != nil {
			return res, nil, err
		}
		a = r.Audit
	}
	res.Fold(a)
	return res, &a, nil
}

// Sosreport judges the domains of the sosreport inspect read (Report), with a
// note for each VM whose verdict differs from what nestvirt recorded there.
func Sosreport(p *policy.Policy, m inspect.Machine) judge.Audit {
	res := Report(p, m.Report, m.Facts)
	now := map[string]policy.Level{}
	for _, v := range res.VMs {
		now[v.Name] = v.Verdict
	}
	res.Notes = append(res.Notes, recorded.VMsDiffer(m.Recorded, now)...)
	return res
}

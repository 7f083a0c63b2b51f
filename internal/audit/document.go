package audit

import (
	"github.com/nestvirt/nestvirt/internal/actions"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
)

// CheckDocument is check's JSON document of the machine m read from src: the
// host's result (nil when it could not be read), the VMs judged with it (nil
// without --vms), and fail, the failure, inside. With withActions (the JSON
// format) each finding's actions are named as the console offers them: what
// nestvirt may change depends on where the machine was read, and on the
// policy file the guard would run with (policyFile).
func CheckDocument(m inspect.Machine, src inspect.Source, res *judge.CheckResult, vms *judge.Audit, fail *doc.Error, policyFile string, withActions bool) doc.CheckDoc {
	d := doc.NewCheckDoc(res, vms, fail)
	d.CheckedAt, d.Origin, d.Recorded = m.At, &m.Origin, m.Recorded.Part()
	if res == nil || !withActions {
		return d
	}
	d.Actions = actions.OfMachine(changeable(src), res.Host, policyFile)
	if d.VMs != nil {
		for i, acts := range actions.OfVMs(vms, res.Host, changeable(src)) {
			d.VMs.VMs[i].Actions = acts
		}
	}
	return d
}

// VMsDocument is vms's JSON document: the VMs judged (nil when none was), with
// the facts of their host (m's, nil when none could be read) and the actions
// each VM is offered.
func VMsDocument(m inspect.Machine, src inspect.Source, res *judge.Audit, fail *doc.Error) doc.VMsDoc {
	host := &m.Facts
	if m.Facts.Arch == nil && m.Facts.Hostname == nil {
		host = nil
	}
	d := doc.NewVMsDoc(res, host, fail)
	d.CheckedAt, d.Origin, d.Recorded = m.At, &m.Origin, m.Recorded.Part()
	for i, acts := range actions.OfVMs(res, m.Facts, changeable(src)) {
		d.VMs[i].Actions = acts
	}
	return d
}

// changeable is the source as actions names it.
func changeable(s inspect.Source) actions.Source {
	return actions.Source{Snapshot: s.Snapshot(), HostRoot: s.HostRoot, Sos: s.Sos}
}

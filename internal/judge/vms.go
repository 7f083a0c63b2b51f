package judge

import (
	"sort"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// VMResult is one domain's facts and verdict.
type VMResult struct {
	domxml.VM
	Verdict policy.Level         `json:"verdict"`
	Chains  []policy.ChainResult `json:"chains"`
}

// Audit is the verdict on every domain of a host. Verdict is nil when there was
// nothing to judge (no domains).
type Audit struct {
	Verdict *policy.Level `json:"verdict"`
	URI     string        `json:"uri"`
	Notes   []string      `json:"notes"`
	VMs     []VMResult    `json:"vms"`
}

// VMs judges each domain, its chains starting where the host stands. A domain that
// could not be read is listed with its error and judged unsupported: nothing is
// known of it. hostModel answers whether the host-model CPU of an arch requires a
// feature (nil when the source cannot say).
func VMs(p *policy.Policy, host probe.Facts, records []domxml.Record, hostModel func(arch, feature string) (bool, error)) Audit {
	pos := PositionOf(host)
	a := Audit{Notes: append([]string{}, pos.Notes...), VMs: make([]VMResult, len(records))}
	hc := HostCPU(host)
	for i, rec := range records {
		a.VMs[i] = judgeVM(p, pos, hc, rec, hostModel)
	}
	sort.Slice(a.VMs, func(i, j int) bool { return a.VMs[i].Name < a.VMs[j].Name })
	for _, v := range a.VMs {
		if a.Verdict == nil {
			a.Verdict = new(policy.Level)
			*a.Verdict = v.Verdict
		}
		*a.Verdict = policy.Worst(*a.Verdict, v.Verdict)
	}
	return a
}

func judgeVM(p *policy.Policy, pos Position, hc domxml.HostCPU, rec domxml.Record, hostModel func(string, string) (bool, error)) VMResult {
	unread := VMResult{VM: domxml.VM{Name: rec.Name, State: orUnknown(rec.State), Runs: "none", L2: []string{}}, Verdict: policy.Unsupported, Chains: []policy.ChainResult{}}
	if rec.Err != nil {
		unread.Error = rec.Err.Error()
		return unread
	}
	v, err := domxml.ReadVM(rec.XML, hc, hostModel)
	if err != nil {
		unread.Error = err.Error()
		return unread
	}
	v.State = orUnknown(rec.State)
	agentOS(&v, rec)
	r := VMResult{VM: v}
	r.Chains, err = p.JudgeChains(pos.Chains(v))
	if err != nil {
		r.Error = "policy: " + err.Error()
	}
	for i, ch := range r.Chains {
		if i == 0 {
			r.Verdict = ch.Verdict
		}
		r.Verdict = policy.Worst(r.Verdict, ch.Verdict)
	}
	if len(r.Chains) == 0 {
		r.Verdict = policy.Unsupported
	}
	return r
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// agentOS puts the OS the guest agent reports over the declared one: it is what
// runs (a VM declared win2k22 may run Windows Server 2019). Without an answer
// the declared OS stays, and the note says so.
func agentOS(v *domxml.VM, rec domxml.Record) {
	declared := "none"
	if v.OS != nil {
		declared = *v.OS + " (" + v.OSFrom + ")"
	}
	switch {
	case rec.Agent != nil:
		o, err := rec.Agent.OS()
		if err != nil {
			v.OSNote = "the guest agent reports " + rec.Agent.Describe() + ", which nestvirt cannot place: " + err.Error() + "; judged with the declared OS, " + declared
			return
		}
		note := "the guest agent reports " + rec.Agent.Describe()
		if v.OS != nil && *v.OS != o.ID {
			note += "; declared: " + declared
		}
		v.SetOS(o, "guest agent")
		v.OSNote = note
	case rec.AgentErr != "":
		v.OSNote = "declared OS only (" + declared + "): the guest agent did not answer: " + rec.AgentErr
	}
}

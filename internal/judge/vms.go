package judge

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// VMResult is one domain's facts and verdict.
type VMResult struct {
	domxml.VM
	Verdict policy.Level         `json:"verdict"`
	Chains  []policy.ChainResult `json:"chains"`
	// AgentChains are the chains judged with the OS the guest agent reports,
	// where it differs from the declared one: the guest controls what its agent
	// says, so they can make Verdict worse, never better.
	AgentChains []policy.ChainResult `json:"agent_chains"`
}

// Audit is the verdict on every domain of a host. Verdict is nil when there was
// nothing to judge (no domains).
type Audit struct {
	Verdict *policy.Level `json:"verdict"`
	URI     string        `json:"uri"`
	Notes   []string      `json:"notes"`
	VMs     []VMResult    `json:"vms"`
}

// Fold makes a host's verdict the worse of its own and its VMs': check
// --vms answers for the host with its guests.
func (r *CheckResult) Fold(a Audit) {
	if a.Verdict != nil {
		r.Verdict = policy.Worst(r.Verdict, *a.Verdict)
	}
}

// VMJudge judges the domains of one host one at a time, from any goroutine:
// a domain can be judged as soon as it is read.
type VMJudge struct {
	p         *policy.Policy
	pos       Position
	hc        domxml.HostCPU
	hostModel func(arch, feature string) (bool, error)
}

// NewVMJudge judges domains with their chains starting where host stands.
// hostModel answers whether the host-model CPU of an arch requires a feature
// (nil when the source cannot say).
func NewVMJudge(p *policy.Policy, host probe.Facts, hostModel func(arch, feature string) (bool, error)) *VMJudge {
	return &VMJudge{p: p, pos: PositionOf(host), hc: HostCPU(host), hostModel: hostModel}
}

// Judge judges one domain. A domain that could not be read is listed with its
// error and judged unsupported: nothing is known of it.
func (j *VMJudge) Judge(rec domxml.Record) VMResult {
	return judgeVM(j.p, j.pos, j.hc, rec, j.hostModel)
}

// Audit is the verdict on the domains judged, sorted by name.
func (j *VMJudge) Audit(vms []VMResult) Audit {
	a := Audit{Notes: append([]string{}, j.pos.Notes...), VMs: vms}
	sort.Slice(a.VMs, func(i, k int) bool { return a.VMs[i].Name < a.VMs[k].Name })
	for _, v := range a.VMs {
		if a.Verdict == nil {
			a.Verdict = new(policy.Level)
			*a.Verdict = v.Verdict
		}
		*a.Verdict = policy.Worst(*a.Verdict, v.Verdict)
	}
	return a
}

// VMs judges each domain on all CPUs (see VMJudge).
func VMs(p *policy.Policy, host probe.Facts, records []domxml.Record, hostModel func(arch, feature string) (bool, error)) Audit {
	j := NewVMJudge(p, host, hostModel)
	vms := make([]VMResult, len(records))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(records)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(records); i = int(next.Add(1) - 1) {
				vms[i] = j.Judge(records[i])
			}
		}()
	}
	wg.Wait()
	return j.Audit(vms)
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
	agent := agentOS(&v, rec)
	r := VMResult{VM: v}
	r.Chains, err = p.JudgeChains(pos.Chains(v))
	if err != nil {
		r.Error = "policy: " + err.Error()
	}
	r.Verdict = worstOf(r.Chains)
	if agent != nil {
		// Judged again as the agent says; only a worse verdict counts.
		as := v
		as.SetOS(*agent, "guest agent")
		if r.AgentChains, err = p.JudgeChains(pos.Chains(as)); err == nil {
			if av := worstOf(r.AgentChains); av > r.Verdict {
				r.Verdict = av
				r.OSNote += fmt.Sprintf("; judged %s by the agent's report, worse than the declared OS gives: the verdict counts it", av)
			} else {
				r.OSNote += "; the agent's report makes the verdict no worse, and a guest cannot make it better: the declared OS decides"
			}
		}
	}
	return r
}

// worstOf is the worst verdict of chains; unsupported when there are none.
func worstOf(chains []policy.ChainResult) policy.Level {
	if len(chains) == 0 {
		return policy.Unsupported
	}
	v := chains[0].Verdict
	for _, ch := range chains[1:] {
		v = policy.Worst(v, ch.Verdict)
	}
	return v
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// agentOS records what the guest agent reports beside the declared OS, and
// returns it when it differs from the declared one (nil otherwise). The
// declared OS is the admin's (libosinfo metadata, an annotation); the agent's
// answer comes from inside the guest, which can say anything, so it is a
// second opinion that may only make a verdict worse (a VM declared win2k22
// that runs Windows Server 2019 cannot run WSL 2).
func agentOS(v *domxml.VM, rec domxml.Record) *osid.OS {
	declared := "none"
	if v.OS != nil {
		declared = *v.OS + " (" + v.OSFrom + ")"
	}
	switch {
	case rec.Agent != nil:
		o, err := rec.Agent.OS()
		if err != nil {
			v.OSNote = "the guest agent reports " + rec.Agent.Describe() + ", which nestvirt cannot place: " + err.Error() + "; judged with the declared OS, " + declared
			return nil
		}
		v.AgentOS = &o.ID
		v.OSNote = "the guest agent reports " + rec.Agent.Describe() + "; declared: " + declared
		if v.OS != nil && *v.OS == o.ID {
			return nil
		}
		return &o
	case rec.AgentErr != "":
		v.OSNote = "declared OS only (" + declared + "): the guest agent did not answer: " + rec.AgentErr
	}
	return nil
}

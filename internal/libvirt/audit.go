package libvirt

import (
	"errors"
	"sort"
	"sync"

	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// VMResult is one domain's facts and verdict.
type VMResult struct {
	VM
	Verdict policy.Level         `json:"verdict"`
	Chains  []policy.ChainResult `json:"chains"`
}

// Audit is the verdict on every domain of a host.
type Audit struct {
	Verdict policy.Level `json:"verdict"`
	URI     string       `json:"uri"`
	Notes   []string     `json:"notes"`
	VMs     []VMResult   `json:"vms"`
}

// L0 is the libvirt host as the policy sees it, from check's facts. When the KVM
// module's live nested value is unknown, the value modprobe.d sets or the module's
// default stands in, and a note says so.
func L0(f probe.Facts) (policy.L0, string) {
	l0 := policy.L0{Name: "host", Arch: f.Arch, Hypervisor: "kvm", Platform: "rhel"}
	if f.Arch == "s390" {
		l0.Arch = "s390x"
	}
	if f.CPUVendor == "intel" || f.CPUVendor == "amd" {
		l0.CPU = f.CPUVendor
	}
	if o, ok := osid.FromOSRelease(f.OS.ID, f.OS.Version); ok {
		l0.OS = &o
	}
	note := ""
	switch {
	case f.KVM.Nested != nil:
		l0.Nested = *f.KVM.Nested
	case f.KVM.Module != nil && *f.KVM.Module == "kvm_pvm":
		note = "the host's KVM is PVM (kvm_pvm), which cannot pass virtualization to its guests: judged as nesting off"
	case f.KVM.NestedNext != nil:
		l0.Nested = *f.KVM.NestedNext
		note = "the host's live nested value is unknown; judged by what modprobe.d sets"
	default:
		l0.Nested = f.CPUVendor == "intel" || f.CPUVendor == "amd"
		note = "the host's live nested value is unknown; judged by the module default (on for kvm_intel and kvm_amd, off on IBM Z)"
	}
	return l0, note
}

// HostCPUOf is what decides what a passthrough CPU carries.
func HostCPUOf(f probe.Facts) HostCPU {
	arch := f.Arch
	if arch == "s390" {
		arch = "s390x"
	}
	return HostCPU{Arch: arch, Vendor: f.CPUVendor, VirtExt: f.VirtExt}
}

// AuditAll reads every domain concurrently (workers at a time) and judges each,
// with this host's facts as the L0. A domain that cannot be read (it vanished, its
// XML is unreadable) is listed with its error, not dropped; losing the daemon is
// an error for the whole audit.
func AuditAll(c *Conn, p *policy.Policy, host probe.Facts, workers int) (Audit, error) {
	doms, err := c.Domains()
	if err != nil {
		return Audit{}, err
	}
	res := Audit{URI: c.URI, Notes: []string{}, VMs: make([]VMResult, len(doms))}
	l0, note := L0(host)
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	if c.Socket == "" {
		res.Notes = append(res.Notes, "the L0 facts are this machine's (or --root's), not the remote host's: take 'nestvirt snapshot' there and pass it with --root")
	}
	hc := HostCPUOf(host)
	caps := capsCache{c: c}
	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make([]error, len(doms))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				res.VMs[i], errs[i] = auditOne(c, p, doms[i], l0, hc, caps.requires)
			}
		}()
	}
	for i := range doms {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return Audit{}, e
		}
	}
	sort.Slice(res.VMs, func(i, j int) bool { return res.VMs[i].Name < res.VMs[j].Name })
	for _, v := range res.VMs {
		res.Verdict = policy.Worst(res.Verdict, v.Verdict)
	}
	return res, nil
}

// auditOne returns an error only when the connection itself fails.
func auditOne(c *Conn, p *policy.Policy, d Domain, l0 policy.L0, hc HostCPU, hostModel func(string, string) (bool, error)) (VMResult, error) {
	r := VMResult{VM: VM{Name: d.Name, State: "unknown", Runs: "none", L2: []string{}}, Chains: []policy.ChainResult{}}
	x, err := c.XML(d, false, false)
	if err == nil {
		r.State, err = c.State(d)
	}
	if err != nil {
		select {
		case <-c.Disconnected():
			return r, errors.New("the libvirt daemon went away during the audit")
		default:
		}
		r.Error = err.Error()
		return r, nil
	}
	state := r.State
	v, err := Facts(x, hc, hostModel)
	if err != nil {
		r.Error = err.Error()
		return r, nil
	}
	v.State = state
	r.VM = v
	chains := ChainsOf(l0, v)
	r.Chains, err = p.JudgeChains(chains)
	if err != nil {
		r.Error = "policy: " + err.Error()
	}
	for _, ch := range r.Chains {
		r.Verdict = policy.Worst(r.Verdict, ch.Verdict)
	}
	return r, nil
}

// ChainsOf builds a VM's chains: one per L2 it is annotated with, or the L1 alone.
func ChainsOf(l0 policy.L0, v VM) []policy.Chain {
	l0.Hugepages = v.Huge // huge-page backing is per domain
	l1 := policy.Guest{Name: v.Name, OS: v.os, Runs: v.Runs, Exposes: v.Exposes}
	if len(v.L2) == 0 {
		return []policy.Chain{{Path: []string{l0.Name, v.Name}, L0: l0, Guests: []policy.Guest{l1}}}
	}
	out := make([]policy.Chain, 0, len(v.L2))
	for _, name := range v.L2 {
		g := policy.Guest{Name: name, Runs: "none"}
		if o, err := osid.Parse(name); err == nil {
			g.OS = &o
		}
		out = append(out, policy.Chain{Path: []string{l0.Name, v.Name, name}, L0: l0, Guests: []policy.Guest{l1, g}})
	}
	return out
}

// capsCache fetches domain capabilities once per arch.
type capsCache struct {
	c  *Conn
	mu sync.Mutex
	m  map[string]capsEntry
}

type capsEntry struct {
	xml string
	err error
}

func (cc *capsCache) requires(arch, feature string) (bool, error) {
	cc.mu.Lock()
	if cc.m == nil {
		cc.m = map[string]capsEntry{}
	}
	e, ok := cc.m[arch]
	if !ok {
		x, err := cc.c.DomainCapabilities(arch)
		e = capsEntry{x, err}
		cc.m[arch] = e
	}
	cc.mu.Unlock()
	if e.err != nil {
		return false, e.err
	}
	return HostModelRequires(e.xml, feature)
}

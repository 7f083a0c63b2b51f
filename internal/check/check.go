// Package check judges the machine nestvirt runs on: it turns probe facts into the
// policy's host view and collects the host rules' findings.
package check

import (
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Result is the verdict on this machine; its JSON is `nestvirt check --format json`.
type Result struct {
	Verdict  policy.Level     `json:"verdict"`
	Host     probe.Facts      `json:"host"`
	Findings []policy.Finding `json:"findings"`
}

// Host converts probe facts into what host rules see.
func Host(f probe.Facts) policy.Host {
	h := policy.Host{
		Arch: f.Arch, CPUVendor: f.CPUVendor, VirtExt: f.VirtExt, HypervisorBit: f.HypervisorBit,
		OSID: f.OS.ID, OSVersion: f.OS.Version,
		VM: f.Virtualization.VM, Container: f.Virtualization.Container, Cloud: f.Virtualization.Cloud, Level: f.Virtualization.Level,
		KVMAvailable: f.KVM.Available, KVMModule: f.KVM.Module, Nested: f.KVM.Nested, Hpage: f.KVM.Hpage,
		NestedNext: f.KVM.NestedNext, HpageNext: f.KVM.HpageNext,
	}
	if o, ok := osid.FromOSRelease(f.OS.ID, f.OS.Version); ok {
		h.OS = &o
	}
	return h
}

// Judge evaluates the host rules on facts. An evaluation error (a policy file that
// did not foresee a fact) is returned with the findings that could be made.
func Judge(p *policy.Policy, f probe.Facts) (Result, error) {
	fs, err := p.JudgeHost(Host(f))
	return Result{Verdict: policy.VerdictOf(fs), Host: f, Findings: fs}, err
}

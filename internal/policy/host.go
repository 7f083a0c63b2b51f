package policy

import (
	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// JudgeHost evaluates every host rule against the machine's facts. Facts named in
// h.Unknown are unknown to CEL: a rule whose outcome rests on them is reported as
// undetermined.
func (p *Policy) JudgeHost(h facts.Host) ([]Finding, error) {
	if err := p.compiled(ScopeHost); err != nil {
		return []Finding{}, err
	}
	out, err := p.applyScope(ScopeHost, hostActivation(&h))
	if out == nil {
		out = []Finding{}
	}
	SortFindings(out)
	return out, err
}

func hostActivation(h *facts.Host) activation {
	unknown := make([]string, len(h.Unknown))
	for i, u := range h.Unknown {
		unknown[i] = "host." + u
	}
	return newActivation(map[string]any{"host": h}, unknown)
}

// hostSamples are the host facts lint evaluates host rules against: machines with
// every fact known, and one with every fact unknown, so a rule that fails at run
// time on some facts fails lint instead.
func hostSamples() []activation {
	rhel := facts.OSOf(osid.OS{ID: "rhel10.0", Family: "rhel", Kind: osid.Linux, Version: "10.0"})
	guest := facts.Host{Arch: "x86_64", CPUVendor: "intel", Module: "kvm_intel", Flag: "vmx", Nestable: true, VirtExt: "vmx", HypervisorBit: true,
		OS: rhel, VM: "kvm", Hypervisor: "kvm", Container: "none", Cloud: "aws", Guest: true, Level: 1, LevelMin: 1,
		KVM: facts.KVM{Available: true, Module: "kvm_intel", Nested: true, NestedNext: true, NestedNextFrom: "modprobe.d"}, Migration: true,
		L0: facts.L0OS{OS: rhel}}
	l0 := facts.Host{Arch: "x86_64", CPUVendor: "amd", Module: "kvm_amd", Flag: "svm", Nestable: true, VirtExt: "svm",
		OS: rhel, VM: "none", Hypervisor: "none", Container: "none", Cloud: "none",
		KVM: facts.KVM{Available: true, Module: "kvm_amd", Nested: true, NestedNextFrom: "module default"}}
	ibmz := facts.Host{Arch: "s390x", CPUVendor: "ibm", Module: "kvm", Flag: "sie", Nestable: true, VirtExt: "sie", OS: rhel,
		VM: "kvm", Hypervisor: "kvm", Container: "wsl", WSL: true, Guest: true, Level: 2, LevelMin: 2,
		KVM: facts.KVM{Available: true, Module: "kvm", Hpage: true, NestedNext: true, HpageNext: true}}
	unknown := facts.Host{Unknown: []string{"arch", "cpu_vendor", "module", "flag", "nestable", "virt_ext", "hypervisor_bit", "os", "vm", "hypervisor",
		"container", "wsl", "cloud", "guest", "level", "level_min", "kvm", "migration", "l0"}}
	return []activation{hostActivation(&guest), hostActivation(&l0), hostActivation(&ibmz), hostActivation(&unknown)}
}

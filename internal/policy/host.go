package policy

import (
	"github.com/nestvirt/nestvirt/internal/osid"
)

// Host is the machine nestvirt runs on, as host-scope rules see it. Pointers are
// facts that may be unknown; they reach CEL as null.
type Host struct {
	Arch          string   // kernel arch name: x86_64, aarch64, s390x, ppc64le, ...
	CPUVendor     string   // intel, amd, ibm, arm; "" unknown
	VirtExt       string   // vmx, svm, sie; "" when the CPU shows none
	HypervisorBit bool     // the CPU says it runs under a hypervisor
	OS            *osid.OS // nil when unknown or not a known distribution
	OSID          string   // os-release ID, raw
	OSVersion     string   // os-release VERSION_ID, raw
	VM            string   // systemd-detect-virt's name; "none" on bare metal
	Container     string   // "none" outside a container
	Cloud         *string
	Level         *int // 0 bare metal; nil unknown
	KVMAvailable  bool
	KVMModule     *string // kvm_intel, kvm_amd, kvm, kvm_pvm
	Nested        *bool
	Hpage         *bool
	NestedNext    *bool // set by modprobe.d or the kernel command line; nil: module default
	HpageNext     *bool
}

func nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// vars is the CEL activation for host rules.
func (h *Host) vars() map[string]any {
	module := Module(h.Arch, h.CPUVendor)
	if h.Arch == "s390" {
		module = "kvm"
	}
	return map[string]any{"host": map[string]any{
		"arch": h.Arch, "cpu_vendor": h.CPUVendor, "virt_ext": h.VirtExt, "hypervisor_bit": h.HypervisorBit,
		"os": osVars(h.OS), "os_id": h.OSID, "os_version": h.OSVersion,
		"vm": h.VM, "container": h.Container, "cloud": nullable(h.Cloud), "level": levelVar(h.Level),
		"guest":  h.VM != "none" && h.VM != "",
		"module": module, // the module that carries nesting for this CPU, loaded or not
		"kvm": map[string]any{
			"available": h.KVMAvailable, "module": nullable(h.KVMModule),
			"nested": nullable(h.Nested), "hpage": nullable(h.Hpage),
			"nested_next": nullable(h.NestedNext), "hpage_next": nullable(h.HpageNext),
		},
	}}
}

func levelVar(l *int) any {
	if l == nil {
		return nil
	}
	return int64(*l)
}

// JudgeHost evaluates every host rule against the machine's facts.
func (p *Policy) JudgeHost(h Host) ([]Finding, error) {
	if err := p.compiled(ScopeHost); err != nil {
		return []Finding{}, err
	}
	out, err := p.applyScope(ScopeHost, h.vars())
	if out == nil {
		out = []Finding{}
	}
	SortFindings(out)
	return out, err
}

// hostSamples are the host facts lint evaluates host rules against: one machine
// with every fact known, one with every fact unknown, so a rule that forgets a
// fact may be null fails lint.
func hostSamples() []map[string]any {
	rhel := &osid.OS{ID: "rhel10.0", Family: "rhel", Kind: osid.Linux, Version: "10.0"}
	t, mod, cloud, lvl := true, "kvm_intel", "aws", 1
	known := Host{Arch: "x86_64", CPUVendor: "intel", VirtExt: "vmx", HypervisorBit: true, OS: rhel, OSID: "rhel", OSVersion: "10.0",
		VM: "kvm", Container: "none", Cloud: &cloud, Level: &lvl, KVMAvailable: true, KVMModule: &mod,
		Nested: &t, Hpage: &t, NestedNext: &t, HpageNext: &t}
	zero, amd, kvmAMD, f := 0, "amd", "kvm_amd", false
	l0 := Host{Arch: "x86_64", CPUVendor: amd, VirtExt: "svm", OS: rhel, OSID: "rhel", OSVersion: "10.0",
		VM: "none", Container: "none", Level: &zero, KVMAvailable: true, KVMModule: &kvmAMD, Nested: &t, NestedNext: &f}
	z, kvmZ := "s390x", "kvm"
	ibmz := Host{Arch: z, CPUVendor: "ibm", VirtExt: "sie", OS: rhel, VM: "none", Container: "wsl", Level: &zero,
		KVMAvailable: true, KVMModule: &kvmZ, Nested: &f, Hpage: &t, NestedNext: &t, HpageNext: &t}
	unknown := Host{Arch: "", VM: "", Container: ""}
	return []map[string]any{known.vars(), l0.vars(), ibmz.vars(), unknown.vars()}
}

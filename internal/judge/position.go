package judge

import (
	"fmt"
	"slices"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Position is where a host stands, as the start of the chains of its VMs: on bare
// metal the host is the L0; on a guest the L0 below it is unseen, and the host is
// an L1 (or deeper where IBM Z says so), so its VMs are L2s.
type Position struct {
	L0    facts.L0
	Above []facts.Guest // the levels between the L0 and the host's VMs, the host last
	Path  []string
	// Unknown names the position's unknown facts, as chain paths ("l0.os").
	Unknown []string
	Notes   []string
	self    bool // the L0 is this host
}

// UnseenL0 names the L0 below a guest in chain paths.
const UnseenL0 = "L0 (not visible from here)"

// PositionOf places a host from its facts.
func PositionOf(f probe.Facts) Position {
	var pos Position
	name := probe.Str(f.Hostname)
	if name == "" {
		name = "host"
	}
	a, vendor := probe.Str(f.Arch), probe.Str(f.CPUVendor)
	info := arch.Of(a, vendor)
	l0 := facts.L0{Arch: info.Arch, Module: info.Module, Nestable: info.Nestable}
	if arch.IsX86(a) && (vendor == "intel" || vendor == "amd") {
		l0.CPU = vendor
	}
	unknown := func(p ...string) { pos.Unknown = append(pos.Unknown, p...) }
	if f.Arch == nil {
		unknown("l0.arch", "l0.module", "l0.nestable")
	} else if f.CPUVendor == nil && arch.IsX86(a) {
		unknown("l0.cpu", "l0.module")
	}
	h := Host(f)
	lm := f.Virtualization.LevelMin
	switch {
	case lm == nil:
		// Where the host stands is unknown: judge it as the L0, and say so.
		pos.Notes = append(pos.Notes, "where this host stands is unknown (see nestvirt check): its VMs are judged as L1s, with this host as the L0")
		fallthrough
	case *lm == 0:
		pos.self = true
		l0.Name, l0.Seen, l0.Hypervisor, l0.Platform = name, true, "kvm", "rhel"
		if o, ok := OSOf(f.OS); ok {
			l0.OS = o
		} else {
			unknown("l0.os")
		}
		k := f.KVM
		switch {
		case k.Module != nil && *k.Module == "kvm_pvm":
			// PVM's module has no nested parameter: no remedy names one.
			l0.Module = "kvm_pvm"
			pos.Notes = append(pos.Notes, pvmNote)
		case k.Nested != nil:
			l0.Nested = *k.Nested
		default:
			unknown("l0.nested")
			pos.Notes = append(pos.Notes, "this host's live nested value is unknown (see nestvirt check)")
		}
		if f.Stated.Migration != nil {
			l0.Migration = *f.Stated.Migration
		} else {
			unknown("l0.migration")
		}
	default:
		l0.Name = UnseenL0
		if hv := f.Virtualization.Hypervisor; hv != nil {
			l0.Hypervisor = *hv
		} else {
			unknown("l0.hypervisor", "l0.module")
		}
		if l0.Hypervisor != "kvm" {
			// The CPU names a KVM module only for an L0 that runs KVM.
			l0.Module = ""
		}
		if l0.Hypervisor == "qemu" {
			l0.CPU = "" // emulation shows the guest a CPU of its own choosing
			unknown("l0.cpu")
		}
		if o, ok := statedOS(f.Stated.L0OS); ok {
			l0.OS = o
		} else {
			unknown("l0.os")
		}
		switch c := probe.Str(f.Virtualization.Cloud); c {
		case "openstack":
			l0.Platform = "openstack"
		default:
			unknown("l0.platform")
		}
		// This host sees the extension only when the L0 has nesting on.
		if f.VirtExt != nil && *f.VirtExt == info.Flag && info.Flag != "" {
			l0.Nested = true
		} else {
			unknown("l0.nested")
		}
		unknown("l0.migration")
		for i := 1; i < *lm; i++ {
			pos.Above = append(pos.Above, facts.Guest{Present: true, Name: fmt.Sprintf("L%d (not visible from here)", i), Runs: "kvm", Exposes: true})
			unknown(fmt.Sprintf("l%d.os", i))
		}
		self := facts.Guest{Present: true, Name: name, OS: h.OS, Runs: "kvm", Exposes: h.KVM.Available, Nested: h.KVM.Nested, PVM: probe.Str(f.KVM.Module) == "kvm_pvm"}
		if self.PVM {
			pos.Notes = append(pos.Notes, pvmNote)
		}
		i := len(pos.Above) + 1
		if f.KVM.Nested == nil && probe.Str(f.KVM.Module) != "kvm_pvm" {
			unknown(fmt.Sprintf("l%d.nested", i))
		}
		if f.OS == nil {
			unknown(fmt.Sprintf("l%d.os", i))
		}
		if f.KVM.Available == nil {
			unknown(fmt.Sprintf("l%d.exposes", i))
		}
		pos.Above = append(pos.Above, self)
		if !f.Virtualization.LevelExact {
			pos.Notes = append(pos.Notes, fmt.Sprintf("this host is a guest, so its VMs are L%d guests at least (a guest cannot see how deep it is; the L0 below it is not visible)", *lm+1))
		}
	}
	pos.L0 = l0
	pos.Path = []string{l0.Name}
	for _, g := range pos.Above {
		pos.Path = append(pos.Path, g.Name)
	}
	return pos
}

// HostCPU is what decides what a passthrough CPU carries on this host.
func HostCPU(f probe.Facts) domxml.HostCPU {
	return domxml.HostCPU{Arch: arch.Normalize(probe.Str(f.Arch)), Vendor: probe.Str(f.CPUVendor), VirtExt: probe.Str(f.VirtExt)}
}

// pvmNote says once, for every VM of a PVM host, why none of them can run VMs
// of its own.
const pvmNote = "this host's KVM is PVM (kvm_pvm), which passes no virtualization extension on to its guests: none of its VMs can run VMs of its own, and nestvirt enable or expose cannot change that"

// Chains builds a VM's chains from the host's position: one per L2 it is
// annotated with, or the VM alone.
func (pos Position) Chains(v domxml.VM) []policy.Chain {
	l0 := pos.L0
	unknown := append([]string(nil), pos.Unknown...)
	above := append([]facts.Guest(nil), pos.Above...)
	if pos.self {
		// What runs this VM is this host: with KVM, or QEMU's emulation.
		l0.Hugepages = v.Huge
		if v.Type == "qemu" {
			l0.Hypervisor = "qemu"
		}
		l0.Platform = v.Platform
	} else {
		above[len(above)-1].Hugepages = v.Huge // this host backs the VM
	}
	depth := len(pos.Above) + 1
	vm := facts.Guest{Present: true, Name: v.Name, Runs: v.Runs, RunsStated: v.Runs != "none"}
	if v.Runs == "" {
		// nestvirt's record could not be read (domxml.VM.MetadataNote).
		vm.Runs, vm.RunsStated = "none", false
		unknown = append(unknown, fmt.Sprintf("l%d.runs", depth))
	}
	if o := v.ParsedOS(); o != nil {
		vm.OS = facts.OSOf(*o)
	} else {
		unknown = append(unknown, fmt.Sprintf("l%d.os", depth))
	}
	if v.Exposes != nil {
		vm.Exposes = *v.Exposes
	} else {
		unknown = append(unknown, fmt.Sprintf("l%d.exposes", depth))
	}
	base := append(above, vm)
	// The L1 migrates when the L0 migrates its VMs: known as the L0's migration
	// is (the host's statement, or the guard's operation), unknown otherwise.
	base[0].Migrates = l0.Migration
	if slices.Contains(unknown, "l0.migration") {
		unknown = append(unknown[:len(unknown):len(unknown)], "l1.migrates")
	}
	path := append(append([]string(nil), pos.Path...), v.Name)
	if len(v.L2) == 0 {
		return []policy.Chain{{Path: path, L0: l0, Guests: base, Unknown: unknown}}
	}
	out := make([]policy.Chain, 0, len(v.L2))
	for _, name := range v.L2 {
		g := facts.Guest{Present: true, Name: name, Runs: "none"}
		u := unknown
		if o, err := osid.Parse(name); err == nil {
			g.OS = facts.OSOf(o)
		} else {
			u = append(append([]string(nil), unknown...), fmt.Sprintf("l%d.os", depth+1))
		}
		out = append(out, policy.Chain{Path: append(append([]string(nil), path...), name), L0: l0,
			Guests: append(append([]facts.Guest(nil), base...), g), Unknown: u})
	}
	return out
}

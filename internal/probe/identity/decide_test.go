package identity

import (
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/probe"
)

// sig is a hypervisor leaf whose EBX, ECX, EDX spell s.
func sig(s string) probe.Regs {
	var b [12]byte
	copy(b[:], s)
	w := func(i int) uint32 {
		return uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
	}
	return probe.Regs{EBX: w(0), ECX: w(4), EDX: w(8)}
}

// TestDecideIsAFunctionOfTheEvidence: the precedence of docs/IDENTITY.md on
// evidence written as values, no file read: a product's DMI name over the
// signature it borrows, Hyper-V's signature left to DMI, the hypervisor bit
// alone, nothing readable (unknown, never bare metal), WSL's kernel.
func TestDecideIsAFunctionOfTheEvidence(t *testing.T) {
	set, clear := true, false
	present := func(vals map[string]string) DMI { return DMI{State: probe.Present, Values: vals} }
	tests := []struct {
		name            string
		e               Evidence
		vm, hypervisor  string // "" for null
		container, note string
	}{
		{"VirtualBox presenting KVM's signature", Evidence{Arch: "x86_64", HypervisorBit: &set,
			CPUID: probe.CPUID{{Fn: 0x40000000}: sig("KVMKVMKVM")}, DMI: present(map[string]string{"product_name": "VirtualBox", "sys_vendor": "innotek GmbH"})},
			"oracle", "other", "", ""},
		{"QEMU/KVM with Hyper-V enlightenments", Evidence{Arch: "x86_64", HypervisorBit: &set,
			CPUID: probe.CPUID{{Fn: 0x40000000}: sig("Microsoft Hv"), {Fn: 0x40000100}: sig("KVMKVMKVM")}, DMI: present(map[string]string{"sys_vendor": "QEMU"})},
			"kvm", "kvm", "", ""},
		{"Hyper-V's signature and QEMU's DMI", Evidence{Arch: "x86_64", HypervisorBit: &set,
			CPUID: probe.CPUID{{Fn: 0x40000000}: sig("Microsoft Hv")}, DMI: present(map[string]string{"sys_vendor": "QEMU"})},
			"qemu", "", "", "whether with KVM or by emulation"},
		{"the hypervisor bit alone", Evidence{Arch: "x86_64", HypervisorBit: &set, DMI: DMI{State: probe.Absent}},
			"vm-other", "", "", ""},
		{"bare metal", Evidence{Arch: "x86_64", HypervisorBit: &clear, DMI: present(map[string]string{"sys_vendor": "Dell Inc."})},
			"none", "none", "", ""},
		{"nothing readable", Evidence{Arch: "x86_64", DMI: DMI{State: probe.Unknown}},
			"", "", "", "cannot be told"},
		{"WSL's kernel", Evidence{Arch: "x86_64", HypervisorBit: &set, CPUID: probe.CPUID{{Fn: 0x40000000}: sig("Microsoft Hv")},
			OSRelease: File{Data: []byte("5.15.153.1-microsoft-standard-WSL2\n"), State: probe.Present}, DMI: DMI{State: probe.Absent}},
			"microsoft", "hyper-v", "wsl", ""},
	}
	for _, tt := range tests {
		r := Decide(tt.e)
		v := r.Virtualization
		if probe.Str(v.VM) != tt.vm || probe.Str(v.Hypervisor) != tt.hypervisor || probe.Str(v.Container) != tt.container {
			t.Errorf("%s: vm %q hypervisor %q container %q, want %q %q %q (evidence %q)", tt.name, probe.Str(v.VM), probe.Str(v.Hypervisor), probe.Str(v.Container), tt.vm, tt.hypervisor, tt.container, v.Evidence)
		}
		if tt.note != "" && !strings.Contains(strings.Join(r.Notes, " "), tt.note) {
			t.Errorf("%s: notes %q lack %q", tt.name, r.Notes, tt.note)
		}
		if again := Decide(tt.e); strings.Join(again.Virtualization.Evidence, "|") != strings.Join(v.Evidence, "|") {
			t.Errorf("%s: the same evidence decided twice differs", tt.name)
		}
	}
}

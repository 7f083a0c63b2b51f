// Package facts is what the rules see: one Go type per CEL type, declared to CEL so
// a policy that names a field these types lack fails to compile (and `policy lint`
// says where). The `cel` tags are the names rules use.
//
// No field is ever null. A fact that could not be read is named in Unknown (as a
// path: "os", "kvm.nested"); the policy evaluates with CEL's partial evaluation, so
// a rule whose outcome depends on an unknown fact is reported as undetermined, and
// one whose outcome does not is decided as usual.
package facts

import (
	"github.com/nestvirt/nestvirt/internal/osid"
)

// The words of the enumerated facts, one vocabulary for topology files, the
// policy's support tables and the command line.
var (
	// Hypervisors are what can run an L0, in topology-file words.
	// "cloud" is a public cloud provider's own hypervisor (identity's
	// publicClouds), KVM-based or not: not a RHEL-KVM host an admin runs.
	Hypervisors = []string{"kvm", "qemu", "esxi", "hyper-v", "aws", "xen", "cloud", "other"}
	// Platforms are the Red Hat offerings that manage an L0 (rhel: none but RHEL).
	Platforms = []string{"rhel", "rhv", "openstack", "openshift-virtualization"}
	// GuestRuns are what a guest runs its own guests with ("none": no guests).
	GuestRuns = []string{"kvm", "hyper-v", "wsl2", "none"}
	// CPUs are the x86 vendors nestvirt tells apart; other arches imply theirs.
	CPUs = []string{"intel", "amd"}
)

// OS is an operating system: a libosinfo-style id, its family and kind, its
// version, and its name as people write it ("RHEL 10.0").
type OS struct {
	ID      string `cel:"id"`
	Family  string `cel:"family"`
	Kind    string `cel:"kind"`
	Version string `cel:"version"`
	Name    string `cel:"name"`
}

// OSOf converts an osid.OS.
func OSOf(o osid.OS) OS {
	return OS{ID: o.ID, Family: o.Family, Kind: string(o.Kind), Version: o.Version, Name: o.String()}
}

// Host is the machine nestvirt runs on (scope: host, variable `host`).
type Host struct {
	Arch      string `cel:"arch"`       // kernel arch, normalised: x86_64, aarch64, s390x, ppc64le
	CPUVendor string `cel:"cpu_vendor"` // intel, amd, ibm, arm
	// What the arch and vendor imply (package arch): the module that carries
	// nesting, the CPU flag a guest must see, whether nesting works on this arch.
	Module   string `cel:"module"`
	Flag     string `cel:"flag"`
	Nestable bool   `cel:"nestable"`
	// What the CPU shows: vmx, svm, sie, or "none".
	VirtExt       string `cel:"virt_ext"`
	HypervisorBit bool   `cel:"hypervisor_bit"`
	OS            OS     `cel:"os"`
	// Where it stands: vm as systemd-detect-virt names it ("none" on bare metal);
	// hypervisor is what runs it, in topology words (none, kvm, qemu, esxi, ...).
	VM         string `cel:"vm"`
	Hypervisor string `cel:"hypervisor"`
	Container  string `cel:"container"`
	WSL        bool   `cel:"wsl"` // Windows Subsystem for Linux, known even where containers are not
	Cloud      string `cel:"cloud"`
	// Platform is the Red Hat offering that manages the L0 (DMI): rhv,
	// openstack, openshift-virtualization, or "none".
	Platform string `cel:"platform"`
	// SMBIOS: the machine has SMBIOS tables; every QEMU (libvirt) guest on x86 does.
	SMBIOS bool `cel:"smbios"`
	// L0Manager is what defines this guest on its L0, so which remedy applies
	// there: libvirt, openstack, rhv, openshift-virtualization, cloud (a public
	// cloud's), vmm (KVM without QEMU), qemu-tcg, esxi, hyper-v, xen, other;
	// "unknown" when the facts cannot tell (a value, never an unknown fact: it
	// only chooses the words of a remedy, never a verdict). "none" on bare metal.
	L0Manager string `cel:"l0_manager"`
	Guest     bool   `cel:"guest"`     // a guest of some hypervisor (level_min >= 1)
	Level     int    `cel:"level"`     // the exact depth; unknown unless proven (IBM Z, bare metal)
	LevelMin  int    `cel:"level_min"` // the depth the evidence proves
	KVM       KVM    `cel:"kvm"`
	// Stated by the admin (host.yaml, flags): whether VMs here are live-migrated,
	// and for a guest, the OS of the L0 it runs on. Unknown until stated.
	Migration bool `cel:"migration"`
	L0        L0OS `cel:"l0"`
	// Windows: what only a Windows machine has; present is false elsewhere.
	Windows Windows `cel:"windows"`

	Unknown []string `cel:"-"`
}

// Windows is the Windows side of the supported case: the release, Windows' own
// hypervisor, the features WSL2 needs, and WSL.
type Windows struct {
	Present bool `cel:"present"`
	Build   int  `cel:"build"` // CurrentBuildNumber: 17763 is Windows Server 2019
	UBR     int  `cel:"ubr"`   // the update revision (build.UBR)
	Server  bool `cel:"server"`
	// HypervisorRunning: Windows' own hypervisor runs (Hyper-V, the Virtual
	// Machine Platform, VBS) and Windows is its root partition.
	HypervisorRunning bool `cel:"hypervisor_running"`
	Exposes           bool `cel:"exposes"` // VT-x/AMD-V reaches this Windows
	HyperV            bool `cel:"hyperv"`  // the Microsoft-Hyper-V feature is on
	VMP               bool `cel:"vmp"`     // the VirtualMachinePlatform feature is on
	WSL               WSL  `cel:"wsl"`
}

// WSL is the Windows Subsystem for Linux as Windows sees it.
type WSL struct {
	Installed      bool `cel:"installed"`
	DefaultVersion int  `cel:"default_version"` // what new distributions get: 1 or 2
	V1             int  `cel:"v1"`              // distributions running as WSL 1
	V2             int  `cel:"v2"`              // distributions running as WSL 2
	// Nested: WSL2 gives its Linux /dev/kvm ([wsl2] nestedVirtualization).
	Nested bool `cel:"nested"`
}

// KVM is the host's KVM.
type KVM struct {
	Available bool   `cel:"available"`
	Module    string `cel:"module"` // the loaded one: kvm_intel, kvm_amd, kvm, kvm_pvm, or "none"
	Nested    bool   `cel:"nested"`
	Hpage     bool   `cel:"hpage"`
	// What the next load of the module sets (modprobe.d, the kernel command line,
	// or the module's default), and which of those it is.
	NestedNext     bool   `cel:"nested_next"`
	NestedNextFrom string `cel:"nested_next_from"`
	HpageNext      bool   `cel:"hpage_next"`
}

// L0OS is what a guest knows of the L0 below it: only what the admin states.
type L0OS struct {
	OS OS `cel:"os"`
}

// L0 is the host at the bottom of a chain (scope: chain, variable `l0`).
type L0 struct {
	Name string `cel:"name"`
	OS   OS     `cel:"os"`
	Arch string `cel:"arch"`
	CPU  string `cel:"cpu"` // intel, amd on x86_64; "" elsewhere
	// From the arch table, as for Host.
	Module     string `cel:"module"`
	Nestable   bool   `cel:"nestable"`
	Hypervisor string `cel:"hypervisor"` // kvm, qemu, esxi, hyper-v, aws, xen, other
	Platform   string `cel:"platform"`   // rhel, rhv, openstack, openshift-virtualization
	Nested     bool   `cel:"nested"`
	Hugepages  bool   `cel:"hugepages"`
	Migration  bool   `cel:"migration"`
	// Seen is false for an L0 that is only inferred: the host below the machine
	// nestvirt runs on, when that machine is itself a guest.
	Seen bool `cel:"seen"`
}

// Guest is an L1 or deeper (variables `l1`, `l2`, `l3`, and each of `guests`).
type Guest struct {
	Present bool   `cel:"present"` // false for l2, l3 beyond the end of the chain
	Name    string `cel:"name"`
	OS      OS     `cel:"os"`
	Runs    string `cel:"runs"` // what it runs its guests with: kvm, hyper-v, wsl2, none
	// RunsStated: runs was written down (a plan's hypervisor, an annotation),
	// not inferred from the guest's guests.
	RunsStated bool `cel:"runs_stated"`
	// Migrates: this guest is live-migrated off its host (a plan's own
	// migrates, else its host's migration; vms and the guard: the L0's).
	Migrates bool `cel:"migrates"`
	// Build is a Windows guest's build number when a plan gives one (0 when
	// not given): WSL 2 needs 18362, on Windows Server 20348.
	Build int `cel:"build"`
	// Exposes says whether hardware virtualization reaches the guest.
	Exposes bool `cel:"exposes"`
	// For a guest that runs KVM (a host in the middle of the chain): whether its
	// KVM has nesting on, and whether it backs its guest in this chain with huge
	// pages (as L0's nested and hugepages are for the L0).
	Nested    bool `cel:"nested"`
	Hugepages bool `cel:"hugepages"`
	// PVM: it runs its guests by PVM (kvm_pvm), without hardware
	// virtualization, so they need no nesting from the host below it.
	PVM bool `cel:"pvm"`
}

// Matrix is where the support tables place a chain (variable `matrix`).
type Matrix struct {
	Level string `cel:"level"` // supported, tech-preview, or "" when no table lists it
	Row   string `cel:"row"`
	Book  string `cel:"book"`
}

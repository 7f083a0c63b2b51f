// Package probe is the machine as nestvirt reads it: its facts (Facts, the
// "host" of check's document), the Root every file is read through (the live
// "/", a snapshot tree or a sosreport, so a snapshot replays a machine exactly),
// the CPUID leaves, and the parsers of the files they share. Its subpackages are
// the sources: linux and windows gather the facts, identity decides where a
// machine stands, stated reads what the admin states, snapshot writes
// snapshots, and machine picks the source for a Root.
//
// Unknown is a value: a fact that could not be read is nil, with a note saying
// why; it is never false, "none" or 0.
package probe

// Facts is everything check knows about the machine. JSON field names are part of
// the output contract of `nestvirt check --format json` ("host"); null is unknown.
type Facts struct {
	Hostname *string `json:"hostname"`
	// MachineID tells this machine's documents apart from another's of the same
	// name (a fleet report keeps one row per machine). It is nestvirt's own ID,
	// derived from /etc/machine-id (or the DMI product UUID) as systemd derives an
	// application-specific ID, so the machine's ID itself is never recorded; null
	// when neither could be read.
	MachineID *string `json:"machine_id" schema:"optional"`
	// MachineIDFrom says what MachineID was derived from: machine-id or
	// dmi-uuid (Linux), machine-guid (Windows' MachineGuid).
	MachineIDFrom *string `json:"machine_id_from" schema:"optional"`
	Arch          *string `json:"arch"`
	CPUVendor     *string `json:"cpu_vendor"` // intel, amd, ibm, arm, ...
	CPUModel      *string `json:"cpu_model"`
	VirtExt       *string `json:"virt_extension"` // vmx, svm, sie, or "none"
	SecondLevel   *bool   `json:"second_level_paging"`
	HypervisorBit *bool   `json:"hypervisor_bit"`
	// OS is the machine's OS from os-release; null when there is none to read.
	OS             *OSFacts       `json:"os"`
	Virtualization Virtualization `json:"virtualization"`
	KVM            KVMFacts       `json:"kvm"`
	// Stated are the facts an admin states because nestvirt cannot read them
	// (/etc/nestvirt/host.yaml, flags).
	Stated Stated `json:"stated"`
	// Windows is what only Windows has (build, its hypervisor, WSL); absent on
	// Linux.
	Windows *WindowsFacts `json:"windows,omitempty"`
	Notes   []string      `json:"notes"`
}

// OSFacts is the machine's OS from os-release.
type OSFacts struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Name    string `json:"name"`
}

// Virtualization says where the machine stands.
type Virtualization struct {
	// VM names the hypervisor as systemd-detect-virt does ("none" on bare metal).
	VM *string `json:"vm"`
	// Hypervisor is what runs this machine, in the words of topology files: none
	// (bare metal), kvm, qemu (QEMU emulation, no KVM), esxi, hyper-v, aws, xen or
	// other; null when it cannot be told (QEMU whose accelerator is unknown).
	Hypervisor *string `json:"hypervisor"`
	Container  *string `json:"container"` // "none" outside a container
	// WSL is whether this is Windows Subsystem for Linux (a Hyper-V guest of
	// Windows): known from the kernel's own name even where other containers
	// cannot be told (a sosreport).
	WSL   *bool   `json:"wsl"`
	Cloud *string `json:"cloud"` // "none" when DMI names none
	// Platform is the Red Hat virtualization offering that manages the L0, as
	// DMI names it: rhv, openstack, openshift-virtualization, or "none".
	Platform *string `json:"platform" schema:"optional"`
	// SMBIOS says whether the machine has SMBIOS tables (/sys/class/dmi): on x86,
	// every QEMU (so libvirt) guest does; a KVM guest without is another VMM's.
	SMBIOS *bool `json:"smbios" schema:"optional"`
	// Level is the exact depth where it is known: 0 on bare metal, IBM Z's count
	// of VM levels. LevelMin is what the evidence proves (1 for any guest).
	Level      *int     `json:"level"`
	LevelMin   *int     `json:"level_min"`
	LevelExact bool     `json:"level_exact"`
	Evidence   []string `json:"evidence"` // what each conclusion rests on
}

// KVMFacts says whether this machine can host VMs, and how nesting is set.
type KVMFacts struct {
	Available  *bool   `json:"available"`  // /dev/kvm or the kvm misc device exists
	Device     *bool   `json:"device"`     // /dev/kvm exists
	Accessible *bool   `json:"accessible"` // this user can open /dev/kvm (live only)
	Module     *string `json:"module"`     // kvm_intel, kvm_amd, kvm (IBM Z), kvm_pvm, or "none"
	Nested     *bool   `json:"nested"`     // live; null also when no module carries it
	Hpage      *bool   `json:"hpage"`
	// What the next load of ConfigModule will set, and where that comes from:
	// "modprobe.d", "kernel command line" or "module default".
	NestedNext     *bool   `json:"nested_next"`
	NestedNextFrom *string `json:"nested_next_from"`
	HpageNext      *bool   `json:"hpage_next"`
	HpageNextFrom  *string `json:"hpage_next_from"`
	// ConfigModule is the module whose nested parameter matters here, loaded or not:
	// the loaded one, or the one this CPU would use; null where none can.
	ConfigModule *string  `json:"config_module"`
	Config       []string `json:"config"` // every line setting nested or hpage, in modprobe order
}

// Stated is what the admin says about facts nestvirt cannot read itself.
type Stated struct {
	// Migration: whether this host's VMs are live-migrated; null: not stated.
	Migration *bool `json:"migration"`
	// L0OS: for a guest, the OS of the L0 at the bottom of its chain, which cannot
	// be seen from inside (a libosinfo short id).
	L0OS *string  `json:"l0_os"`
	From []string `json:"from"` // where each statement came from
}

// WindowsFacts is what check reads inside Windows, the L1 of the supported case:
// the release, Windows' own hypervisor, the features WSL2 needs, and WSL itself.
// JSON field names are part of `nestvirt check --format json` ("host.windows");
// null is unknown.
type WindowsFacts struct {
	Product          *string `json:"product"`           // ProductName: "Windows Server 2019 Standard"
	InstallationType *string `json:"installation_type"` // Client, Server, Server Core
	Server           *bool   `json:"server"`
	DisplayVersion   *string `json:"display_version"` // 22H2; ReleaseId on older builds
	Build            *int    `json:"build"`           // CurrentBuildNumber
	UBR              *int    `json:"ubr"`             // the update revision: 17763.UBR
	// HypervisorRunning: Windows' own hypervisor runs and Windows is its root
	// partition (CPUID leaf 0x40000003 CreatePartitions); it runs whenever Hyper-V,
	// the Virtual Machine Platform or VBS is on, and needs VT-x or AMD-V to start.
	HypervisorRunning *bool `json:"hypervisor_running"`
	// What WMI says (Win32_ComputerSystem, Win32_Processor). The processor's
	// virtualization fields are blank once a hypervisor runs: null then.
	WMI WindowsWMI `json:"wmi"`
	// VirtualizationExposed: whether VT-x/AMD-V reaches this Windows.
	VirtualizationExposed *bool           `json:"virtualization_exposed"`
	Features              WindowsFeatures `json:"features"`
	WSL                   WSLFacts        `json:"wsl"`
}

// WindowsWMI is Windows' own view of virtualization.
type WindowsWMI struct {
	HypervisorPresent       *bool `json:"hypervisor_present"`
	FirmwareEnabled         *bool `json:"virtualization_firmware_enabled"`
	VMMonitorModeExtensions *bool `json:"vm_monitor_mode_extensions"`
	SecondLevelTranslation  *bool `json:"second_level_address_translation"`
}

// WindowsFeatures are the optional features' states (Win32_OptionalFeature).
type WindowsFeatures struct {
	HyperV                 *bool `json:"hyper_v"`                  // Microsoft-Hyper-V
	VirtualMachinePlatform *bool `json:"virtual_machine_platform"` // VirtualMachinePlatform
	WSL                    *bool `json:"wsl"`                      // Microsoft-Windows-Subsystem-Linux
}

// WSLFacts is the Windows Subsystem for Linux as Windows sees it.
type WSLFacts struct {
	Installed      *bool       `json:"installed"`
	DefaultVersion *int        `json:"default_version"`             // 1 or 2: what new distributions get
	Distributions  []WSLDistro `json:"distributions" schema:"null"` // null: could not be read
	// NestedVirtualization: whether WSL2 gives its Linux /dev/kvm ([wsl2]
	// nestedVirtualization in .wslconfig; on by default from Windows 11).
	NestedVirtualization     *bool   `json:"nested_virtualization"`
	NestedVirtualizationFrom *string `json:"nested_virtualization_from"`
}

// WSLDistro is one registered distribution.
type WSLDistro struct {
	Name    string `json:"name"`
	Version *int   `json:"version"` // 1 or 2
	Default bool   `json:"default"`
}

// Str returns a string fact, or "" when it is unknown.
func Str(p *string) string { return Deref(p) }

// Ptr is a fact known to be v; the sources' probes set facts with it.
func Ptr[T any](v T) *T { return &v }

// Deref is a fact's value, the zero value when it is unknown.
func Deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

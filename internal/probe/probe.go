// Package probe gathers the facts of the machine nestvirt runs on: CPU, KVM, OS and
// where the machine stands (bare metal, which hypervisor's guest, container, depth).
// Every file is read through one Root, so a snapshot tree replays a machine exactly.
// An unreadable or nonsensical source makes a fact unknown, with a note saying why;
// it is never an error.
package probe

import (
	"errors"
	"io/fs"
	"runtime"
	"strings"
)

// Facts is everything check knows about the machine. JSON field names are part of
// the output contract of `nestvirt check --format json` ("host").
type Facts struct {
	Arch           string         `json:"arch"`
	CPUVendor      string         `json:"cpu_vendor"` // intel, amd, ibm, arm, ...; "" unknown
	CPUModel       string         `json:"cpu_model"`
	VirtExt        string         `json:"virt_extension"` // vmx, svm, sie; "" none seen
	SecondLevel    *bool          `json:"second_level_paging"`
	HypervisorBit  bool           `json:"hypervisor_bit"`
	OS             OSFacts        `json:"os"`
	Virtualization Virtualization `json:"virtualization"`
	KVM            KVMFacts       `json:"kvm"`
	Notes          []string       `json:"notes"`
}

// OSFacts is the machine's OS from os-release.
type OSFacts struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Name    string `json:"name"`
}

// Virtualization says where the machine stands.
type Virtualization struct {
	VM        string   `json:"vm"`        // systemd-detect-virt's names; "none" on bare metal
	Container string   `json:"container"` // "none" outside a container
	Cloud     *string  `json:"cloud"`     // where DMI names one
	Level     *int     `json:"level"`     // 0 bare metal; nil when depth cannot be known
	Evidence  []string `json:"evidence"`  // what each conclusion rests on
}

// KVMFacts says whether this machine can host VMs, and how nesting is set.
type KVMFacts struct {
	Available  bool    `json:"available"`
	Device     bool    `json:"device"`     // /dev/kvm exists
	Accessible *bool   `json:"accessible"` // this user can open /dev/kvm (live only)
	Module     *string `json:"module"`     // kvm_intel, kvm_amd, kvm (IBM Z), kvm_pvm
	Nested     *bool   `json:"nested"`
	Hpage      *bool   `json:"hpage"`
	// What modprobe.d and the kernel command line set for the next module load;
	// nil when nothing sets it (the module default applies).
	NestedNext *bool `json:"nested_next"`
	HpageNext  *bool `json:"hpage_next"`
	// ConfigModule is the module whose modprobe.d settings were read: the loaded one,
	// or the one this CPU would use (kvm_intel, kvm_amd, kvm).
	ConfigModule string   `json:"config_module"`
	Config       []string `json:"config"` // every line setting nested or hpage, in modprobe order
}

// Probe gathers the facts from root. cpu holds the CPUID leaves (ReadLive on the
// running machine, the snapshot's cpuid.txt otherwise; empty when unknown).
func Probe(root *Root, cpu CPUID) Facts {
	p := &prober{root: root, cpu: cpu}
	return p.run()
}

// ProbeRoot probes root the way `nestvirt check` does: the live CPU for "/", the
// snapshot's cpuid.txt otherwise.
func ProbeRoot(root *Root) Facts {
	if root.Live() {
		return Probe(root, ReadIdentity())
	}
	p := &prober{root: root}
	if data, err := root.ReadFile(CPUIDFile); err == nil {
		var notes []string
		p.cpu, notes = ParseCPUIDText(data)
		p.notes = append(p.notes, notes...)
	} else if !errors.Is(err, fs.ErrNotExist) {
		p.notes = append(p.notes, "cpuid.txt: "+err.Error())
	}
	return p.run()
}

// CPUIDFile is where a snapshot keeps the CPUID leaves.
const CPUIDFile = "cpuid.txt"

type prober struct {
	root  *Root
	cpu   CPUID
	notes []string
	f     Facts
	ci    CPUInfo
}

func (p *prober) note(format string) { p.notes = append(p.notes, format) }

// read reads a file; a missing file is silent, any other failure is noted.
func (p *prober) read(rel string) ([]byte, bool) {
	data, err := p.root.ReadFile(rel)
	if err == nil {
		return data, true
	}
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) && !isNotDir(err) {
		p.note(rel + ": " + shortErr(err) + "; facts from it are unknown")
	}
	return nil, false
}

func isNotDir(err error) bool { return err != nil && strings.Contains(err.Error(), "not a directory") }

func shortErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (p *prober) readString(rel string) (string, bool) {
	b, ok := p.read(rel)
	return strings.TrimSpace(string(b)), ok
}

func (p *prober) run() Facts {
	p.arch()
	p.cpuFacts()
	p.osFacts()
	p.detect()
	p.kvm()
	p.f.Notes = append(p.notes, p.f.Notes...)
	if p.f.Notes == nil {
		p.f.Notes = []string{}
	}
	return p.f
}

func (p *prober) arch() {
	if a, ok := p.readString("proc/sys/kernel/arch"); ok && a != "" {
		p.f.Arch = a
		return
	}
	if p.root.Live() {
		p.f.Arch = map[string]string{"amd64": "x86_64", "arm64": "aarch64", "s390x": "s390x", "ppc64le": "ppc64le", "ppc64": "ppc64", "386": "i686"}[runtime.GOARCH]
		return
	}
	p.note("proc/sys/kernel/arch is missing from the snapshot; architecture unknown")
}

// IsX86 and friends group kernel arch names.
func IsX86(a string) bool  { return a == "x86_64" || a == "i686" || a == "i386" }
func IsIBMZ(a string) bool { return a == "s390x" || a == "s390" }
func IsPower(a string) bool {
	return a == "ppc64le" || a == "ppc64"
}
func IsARM(a string) bool { return a == "aarch64" || strings.HasPrefix(a, "arm") }

func (p *prober) cpuFacts() {
	data, ok := p.read("proc/cpuinfo")
	if ok {
		p.ci = ParseCPUInfo(data)
	} else {
		p.ci = CPUInfo{Flags: map[string]bool{}}
	}
	ci := p.ci
	switch {
	case ci.VendorID == "GenuineIntel":
		p.f.CPUVendor = "intel"
	case ci.VendorID == "AuthenticAMD" || ci.VendorID == "HygonGenuine":
		p.f.CPUVendor = "amd"
	case strings.HasPrefix(ci.VendorID, "IBM") || IsIBMZ(p.f.Arch) || IsPower(p.f.Arch):
		p.f.CPUVendor = "ibm"
	case IsARM(p.f.Arch):
		p.f.CPUVendor = "arm"
	}
	if p.f.CPUVendor == "" && IsX86(p.f.Arch) {
		// No cpuinfo: CPUID leaf 0 names the vendor.
		if r, ok := p.cpu.Get(0, 0); ok {
			switch (Regs{0, r.EBX, r.EDX, r.ECX}).signature() {
			case "GenuineIntel":
				p.f.CPUVendor = "intel"
			case "AuthenticAMD":
				p.f.CPUVendor = "amd"
			}
		}
	}
	p.f.CPUModel = ci.Model
	fl := ci.Flags
	switch {
	case fl["vmx"]:
		p.f.VirtExt = "vmx"
		p.f.SecondLevel = ptr(fl["ept"])
	case fl["svm"]:
		p.f.VirtExt = "svm"
		p.f.SecondLevel = ptr(fl["npt"])
	case fl["sie"]:
		p.f.VirtExt = "sie"
	}
	p.f.HypervisorBit = fl["hypervisor"]
	if !p.f.HypervisorBit {
		if r, ok := p.cpu.Get(1, 0); ok && r.ECX&(1<<31) != 0 {
			p.f.HypervisorBit = true
		}
	}
}

func (p *prober) osFacts() {
	data, ok := p.read("etc/os-release")
	if !ok {
		data, ok = p.read("usr/lib/os-release")
	}
	if !ok {
		p.note("no os-release (etc/os-release, usr/lib/os-release); OS unknown")
		return
	}
	kv := ParseOSRelease(data)
	p.f.OS = OSFacts{ID: kv["ID"], Version: kv["VERSION_ID"], Name: kv["PRETTY_NAME"]}
}

func ptr[T any](v T) *T { return &v }

// Package probe gathers the facts of the machine nestvirt runs on: CPU, KVM, OS and
// where the machine stands (bare metal, which hypervisor's guest, container, depth).
// Every file is read through one Root, so a snapshot tree replays a machine exactly.
//
// Unknown is a value: a fact that could not be read (a missing or unreadable file,
// a snapshot that did not capture it) is nil, with a note saying why; it is never
// false, "none" or 0. A nonsensical source makes a fact unknown too; neither is an
// error.
package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/nestvirt/nestvirt/internal/arch"
)

// Facts is everything check knows about the machine. JSON field names are part of
// the output contract of `nestvirt check --format json` ("host"); null is unknown.
type Facts struct {
	Hostname      *string `json:"hostname"`
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
	Platform *string `json:"platform"`
	// SMBIOS says whether the machine has SMBIOS tables (/sys/class/dmi): on x86,
	// every QEMU (so libvirt) guest does; a KVM guest without is another VMM's.
	SMBIOS *bool `json:"smbios"`
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

// Probe gathers the facts from root. cpu holds the CPUID leaves (ReadIdentity on
// the running machine, the snapshot's cpuid.txt otherwise; nil when unknown). The
// error, when not nil, is a *StatedError: a host.yaml that could not be used (its
// facts stay unknown, and the rest is gathered).
func Probe(root *Root, cpu CPUID) (Facts, error) {
	p := &prober{root: root, cpu: cpu}
	return p.result()
}

func (p *prober) result() (Facts, error) {
	f := p.run()
	if p.statedErr != nil {
		return f, p.statedErr
	}
	return f, nil
}

// ProbeRoot probes root the way `nestvirt check` does: the live CPU for "/", the
// snapshot's cpuid.txt otherwise.
func ProbeRoot(root *Root) (Facts, error) {
	if root.Live() {
		if src, ok := liveWindowsSource(); ok {
			// Windows' facts are in its registry, WMI and WSL, not in files;
			// ReadLive, because virt_ext comes from CPUID there.
			return ProbeWindows(src, ReadLive())
		}
		return Probe(root, ReadIdentity())
	}
	if IsWindowsSnapshot(root) {
		return probeWindowsSnapshot(root)
	}
	p := &prober{root: root}
	if root.report != nil {
		p.notes = append(p.notes, root.report.Notes()...)
	}
	data, st, err := root.Read(CPUIDFile)
	switch {
	case st == Present:
		var notes []string
		p.cpu, notes = ParseCPUIDText(data)
		p.notes = append(p.notes, notes...)
	case err != nil && !strings.Contains(err.Error(), ErrNotCaptured.Error()):
		p.note(CPUIDFile + ": " + shortErr(err))
	}
	return p.result()
}

// probeWindowsSnapshot reads a Windows machine's snapshot (windows/registry.reg).
func probeWindowsSnapshot(root *Root) (Facts, error) {
	src, notes := openWindowsSnapshot(root)
	var cpu CPUID
	data, st, err := root.Read(CPUIDFile)
	switch {
	case st == Present:
		var n []string
		cpu, n = ParseCPUIDText(data)
		notes = append(notes, n...)
	case err != nil:
		notes = append(notes, CPUIDFile+": "+shortErr(err))
	default:
		notes = append(notes, CPUIDFile+" is not in the snapshot; CPUID facts unknown")
	}
	f, err := ProbeWindows(src, cpu)
	f.Notes = append(append([]string{}, notes...), f.Notes...)
	return f, err
}

// CPUIDFile is where a snapshot keeps the CPUID leaves.
const CPUIDFile = "cpuid.txt"

type prober struct {
	root  *Root
	cpu   CPUID // nil: not known
	notes []string
	f     Facts
	ci    *CPUInfo // nil when /proc/cpuinfo could not be read
	tcg   bool     // QEMU emulation is proven (see accelerator)

	statedErr *StatedError
}

func (p *prober) note(s string) { p.notes = append(p.notes, s) }

// read reads a file: data and true when present; nil and false when absent (said
// by nothing) or unknown (noted, with what depends on it).
func (p *prober) read(rel, what string) ([]byte, State) {
	data, st, err := p.root.Read(rel)
	if st == Unknown && err != nil {
		msg := rel + ": " + shortErr(err)
		if what != "" {
			msg += "; " + what + " unknown"
		}
		p.note(msg)
	}
	return data, st
}

// readString reads a small sysfs-style file, trimmed, without noting failures.
func (p *prober) readString(rel string) (string, State) {
	data, st, _ := p.root.Read(rel)
	return strings.TrimSpace(string(data)), st
}

// shortErr is an error without the path a note already names: the cause alone.
func shortErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	s := err.Error()
	// "rel: not a regular file (a FIFO)": the path is the note's own prefix.
	if i := strings.Index(s, ": "); i >= 0 && !strings.ContainsAny(s[:i], " (") {
		return s[i+2:]
	}
	return s
}

func (p *prober) run() Facts {
	p.f.Notes = []string{}
	p.f.KVM.Config = []string{}
	p.f.Virtualization.Evidence = []string{}
	p.f.Stated.From = []string{}
	if h, st := p.readString("proc/sys/kernel/hostname"); st == Present && h != "" {
		p.f.Hostname = ptr(h)
	}
	p.archFact()
	p.cpuFacts()
	p.osFacts()
	p.detect()
	p.kvm()
	p.stated()
	p.f.Notes = append(append([]string{}, p.notes...), p.f.Notes...)
	return p.f
}

func (p *prober) archFact() {
	if a, st := p.readString("proc/sys/kernel/arch"); st == Present && a != "" {
		p.f.Arch = ptr(arch.Normalize(a))
		return
	}
	if p.root.Live() {
		p.f.Arch = ptr(arch.Normalize(runtime.GOARCH))
		return
	}
	// cpuinfo proves the architecture too: an x86 vendor with long mode is x86_64,
	// IBM/S390 is IBM Z.
	if data, st, _ := p.root.Read("proc/cpuinfo"); st == Present {
		ci := ParseCPUInfo(data)
		switch {
		case (ci.VendorID == "GenuineIntel" || ci.VendorID == "AuthenticAMD" || ci.VendorID == "HygonGenuine") && ci.Flags["lm"]:
			p.f.Arch = ptr("x86_64")
		case strings.HasPrefix(ci.VendorID, "IBM/S390"):
			p.f.Arch = ptr("s390x")
		}
		if p.f.Arch != nil {
			p.note("proc/sys/kernel/arch is not in the snapshot; the architecture, " + *p.f.Arch + ", is read from /proc/cpuinfo")
			return
		}
	}
	p.note("proc/sys/kernel/arch is not in the snapshot; architecture unknown")
}

func (p *prober) cpuFacts() {
	data, st := p.read("proc/cpuinfo", "CPU vendor, model and flags")
	if st == Present {
		ci := ParseCPUInfo(data)
		p.ci = &ci
	}
	a := deref(p.f.Arch)
	var vendor string
	if p.ci != nil {
		switch {
		case p.ci.VendorID == "GenuineIntel":
			vendor = "intel"
		case p.ci.VendorID == "AuthenticAMD" || p.ci.VendorID == "HygonGenuine":
			vendor = "amd"
		case strings.HasPrefix(p.ci.VendorID, "IBM"):
			vendor = "ibm"
		}
		if p.ci.Model != "" {
			p.f.CPUModel = ptr(p.ci.Model)
		}
	}
	if vendor == "" && arch.IsX86(a) {
		// No cpuinfo: CPUID leaf 0 names the vendor.
		if r, ok := p.cpu.Get(0, 0); ok {
			switch (Regs{0, r.EBX, r.EDX, r.ECX}).signature() {
			case "GenuineIntel":
				vendor = "intel"
			case "AuthenticAMD", "HygonGenuine":
				vendor = "amd"
			}
		}
	}
	if vendor == "" && a != "" && !arch.IsX86(a) {
		vendor = arch.Of(a, "").Vendor // the other arches imply their vendor
	}
	if vendor != "" {
		p.f.CPUVendor = ptr(vendor)
	}
	if p.ci != nil {
		fl := p.ci.Flags
		switch {
		case fl["vmx"]:
			p.f.VirtExt, p.f.SecondLevel = ptr("vmx"), ptr(fl["ept"])
		case fl["svm"]:
			p.f.VirtExt, p.f.SecondLevel = ptr("svm"), ptr(fl["npt"])
		case fl["sie"]:
			p.f.VirtExt = ptr("sie")
		case len(fl) > 0:
			p.f.VirtExt = ptr("none")
		}
		if len(fl) > 0 && arch.IsX86(a) {
			p.f.HypervisorBit = ptr(fl["hypervisor"])
		}
	}
	if r, ok := p.cpu.Get(1, 0); ok && arch.IsX86(a) {
		bit := r.ECX&(1<<31) != 0
		if p.f.HypervisorBit == nil || bit {
			p.f.HypervisorBit = ptr(bit)
		}
	}
}

func (p *prober) osFacts() {
	data, st := p.read("etc/os-release", "")
	if st != Present {
		data, st = p.read("usr/lib/os-release", "")
	}
	if st != Present {
		p.note("no os-release could be read (etc/os-release, usr/lib/os-release); OS unknown")
		return
	}
	kv := ParseOSRelease(data)
	if kv["ID"] == "" {
		p.note("os-release names no ID; OS unknown")
		return
	}
	// os-release(5): ID and VERSION_ID are lowercase identifiers ([a-z0-9._-]);
	// anything else is not one (a file nestvirt cannot trust), and no name is
	// made from it.
	if !osToken(kv["ID"]) || (kv["VERSION_ID"] != "" && !osToken(kv["VERSION_ID"])) {
		p.note("os-release: ID or VERSION_ID is not an identifier (lowercase letters, digits, '.', '_', '-', at most 64 bytes); OS unknown")
		return
	}
	name := kv["PRETTY_NAME"]
	if len(name) > 256 || strings.ContainsAny(name, "\n\r\x00") || !utf8.ValidString(name) {
		name = "" // one line of readable text, or none: the ID names the OS then
	}
	p.f.OS = &OSFacts{ID: kv["ID"], Version: kv["VERSION_ID"], Name: name}
}

// osToken reports whether s is an os-release identifier, as os-release(5)
// defines ID: lowercase letters, digits, '.', '_' and '-', and not long.
func osToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Str returns a string fact, or "" when it is unknown.
func Str(p *string) string { return deref(p) }

func (p *prober) evidence(format string, args ...any) {
	p.f.Virtualization.Evidence = append(p.f.Virtualization.Evidence, fmt.Sprintf(format, args...))
}

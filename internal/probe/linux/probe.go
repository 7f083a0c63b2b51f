// Package linux gathers a Linux machine's facts from its files: CPU, KVM, OS
// and where the machine stands (package identity decides that from the
// evidence read here), and what the admin states (package stated). Every file
// is read through one probe.Root, so a snapshot or a sosreport replays a machine
// exactly.
//
// Unknown is a value: a fact that could not be read (a missing or unreadable file,
// a snapshot that did not capture it) is nil, with a note saying why; it is never
// false, "none" or 0. A nonsensical source makes a fact unknown too; neither is an
// error.
package linux

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unicode/utf8"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/identity"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
)

// Probe gathers the facts from root. cpu holds the CPUID leaves (ReadIdentity on
// the running machine, the snapshot's cpuid.txt otherwise; nil when unknown). The
// error, when not nil, is a *stated.Error: a host.yaml that could not be used (its
// facts stay unknown, and the rest is gathered).
func Probe(root *probe.Root, cpu probe.CPUID) (probe.Facts, error) {
	p := &prober{root: root, cpu: cpu}
	return p.result()
}

func (p *prober) result() (probe.Facts, error) {
	f := p.run()
	if p.statedErr != nil {
		return f, p.statedErr
	}
	return f, nil
}

// ProbeRoot probes root as `nestvirt check` does: the CPU it runs on for the
// live machine, the snapshot's cpuid.txt otherwise.
func ProbeRoot(root *probe.Root) (probe.Facts, error) {
	if root.Live() {
		return Probe(root, probe.ReadIdentity())
	}
	p := &prober{root: root}
	p.notes = append(p.notes, root.Notes()...)
	data, st, err := root.Read(probe.CPUIDFile)
	switch {
	case st == probe.Present:
		var notes []string
		p.cpu, notes = probe.ParseCPUIDText(data)
		p.notes = append(p.notes, notes...)
	case err != nil && !errors.Is(err, probe.ErrNotCaptured):
		p.note(probe.CPUIDFile + ": " + probe.ShortErr(err))
	}
	return p.result()
}

type prober struct {
	root  *probe.Root
	cpu   probe.CPUID // nil: not known
	notes []string
	f     probe.Facts
	ci    *probe.CPUInfo // nil when /proc/cpuinfo could not be read

	statedErr *stated.Error
}

func (p *prober) note(s string) { p.notes = append(p.notes, s) }

// read reads a file: data and true when present; nil and false when absent (said
// by nothing) or unknown (noted, with what depends on it).
func (p *prober) read(rel, what string) ([]byte, probe.State) {
	data, st, err := p.root.Read(rel)
	if st == probe.Unknown && err != nil {
		msg := rel + ": " + probe.ShortErr(err)
		if what != "" {
			msg += "; " + what + " unknown"
		}
		p.note(msg)
	}
	return data, st
}

// readString reads a small sysfs-style file, trimmed, without noting failures.
func (p *prober) readString(rel string) (string, probe.State) {
	data, st, _ := p.root.Read(rel)
	return strings.TrimSpace(string(data)), st
}

// machineID derives the machine's ID for documents: from /etc/machine-id, else
// the DMI product UUID (root-readable only).
func (p *prober) machineID() {
	for _, src := range []struct{ rel, from string }{{"etc/machine-id", "machine-id"}, {"sys/class/dmi/id/product_uuid", "dmi-uuid"}} {
		if t, st := p.readString(src.rel); st == probe.Present {
			if id, ok := probe.MachineIDOf(t); ok {
				p.f.MachineID, p.f.MachineIDFrom = probe.Ptr(id), probe.Ptr(src.from)
				return
			}
		}
	}
}

func (p *prober) run() probe.Facts {
	p.f.Notes = []string{}
	p.f.KVM.Config = []string{}
	p.f.Virtualization.Evidence = []string{}
	p.f.Stated.From = []string{}
	if h, st := p.readString("proc/sys/kernel/hostname"); st == probe.Present && h != "" {
		p.f.Hostname = probe.Ptr(h)
	}
	p.machineID()
	p.archFact()
	p.cpuFacts()
	p.osFacts()
	p.position()
	p.kvm()
	p.stated()
	p.f.Notes = append(append([]string{}, p.notes...), p.f.Notes...)
	return p.f
}

func (p *prober) archFact() {
	if a, st := p.readString("proc/sys/kernel/arch"); st == probe.Present && a != "" {
		p.f.Arch = probe.Ptr(arch.Normalize(a))
		return
	}
	if p.root.Live() {
		p.f.Arch = probe.Ptr(arch.Normalize(runtime.GOARCH))
		return
	}
	// cpuinfo proves the architecture too: an x86 vendor with long mode is x86_64,
	// IBM/S390 is IBM Z.
	if data, st, _ := p.root.Read("proc/cpuinfo"); st == probe.Present {
		ci := probe.ParseCPUInfo(data)
		switch {
		case (ci.VendorID == "GenuineIntel" || ci.VendorID == "AuthenticAMD" || ci.VendorID == "HygonGenuine") && ci.Flags["lm"]:
			p.f.Arch = probe.Ptr("x86_64")
		case strings.HasPrefix(ci.VendorID, "IBM/S390"):
			p.f.Arch = probe.Ptr("s390x")
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
	if st == probe.Present {
		ci := probe.ParseCPUInfo(data)
		p.ci = &ci
	}
	a := probe.Deref(p.f.Arch)
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
			p.f.CPUModel = probe.Ptr(p.ci.Model)
		}
	}
	if vendor == "" && arch.IsX86(a) {
		// No cpuinfo: CPUID leaf 0 names the vendor.
		if r, ok := p.cpu.Get(0, 0); ok {
			switch r.Vendor() {
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
		p.f.CPUVendor = probe.Ptr(vendor)
	}
	if p.ci != nil {
		fl := p.ci.Flags
		switch {
		case fl["vmx"]:
			p.f.VirtExt, p.f.SecondLevel = probe.Ptr("vmx"), probe.Ptr(fl["ept"])
		case fl["svm"]:
			p.f.VirtExt, p.f.SecondLevel = probe.Ptr("svm"), probe.Ptr(fl["npt"])
		case fl["sie"]:
			p.f.VirtExt = probe.Ptr("sie")
		case len(fl) > 0:
			p.f.VirtExt = probe.Ptr("none")
		}
		if len(fl) > 0 && arch.IsX86(a) {
			p.f.HypervisorBit = probe.Ptr(fl["hypervisor"])
		}
	}
	if r, ok := p.cpu.Get(1, 0); ok && arch.IsX86(a) {
		bit := r.ECX&(1<<31) != 0
		if p.f.HypervisorBit == nil || bit {
			p.f.HypervisorBit = probe.Ptr(bit)
		}
	}
}

func (p *prober) osFacts() {
	data, st := p.read("etc/os-release", "")
	if st != probe.Present {
		data, st = p.read("usr/lib/os-release", "")
	}
	if st != probe.Present {
		p.note("no os-release could be read (etc/os-release, usr/lib/os-release); OS unknown")
		return
	}
	kv := probe.ParseOSRelease(data)
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
	p.f.OS = &probe.OSFacts{ID: kv["ID"], Version: kv["VERSION_ID"], Name: name}
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

func (p *prober) evidence(format string, args ...any) {
	p.f.Virtualization.Evidence = append(p.f.Virtualization.Evidence, fmt.Sprintf(format, args...))
}

// stated reads what the admin states in host.yaml.
func (p *prober) stated() {
	s, notes, err := stated.Read(p.root)
	p.notes = append(p.notes, notes...)
	if err != nil {
		p.statedErr = err
		return
	}
	p.f.Stated = s
}

// position decides where the machine stands (package identity), from the
// evidence of its files and the CPU facts read so far.
func (p *prober) position() {
	res := identity.Decide(identity.Gather(p.root, probe.Deref(p.f.Arch), p.ci, p.cpu, p.f.HypervisorBit))
	p.f.Virtualization = res.Virtualization
	p.notes = append(p.notes, res.Notes...)
}

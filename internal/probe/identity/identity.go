// Package identity decides where a machine stands: bare metal or a guest, of
// which hypervisor, how deep, in which container, on which cloud or Red Hat
// platform. The evidence is read first (Gather, from a Linux machine's files
// and CPUID); Decide is a pure function of it, in the precedence of
// docs/IDENTITY.md, and every conclusion names what it rests on. The DMI and
// CPUID tables serve the Windows source too.
package identity

import (
	"fmt"
	"strings"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Result is where the machine stands, and the notes on what could not be told.
type Result struct {
	// Virtualization is the answer, Evidence included.
	Virtualization probe.Virtualization
	Notes          []string
}

// decision collects a decision's evidence and notes.
type decision struct {
	e     *Evidence
	v     probe.Virtualization
	notes []string
	tcg   bool // QEMU's emulation is proven (see accelerator)
}

func (d *decision) evidence(format string, args ...any) {
	d.v.Evidence = append(d.v.Evidence, fmt.Sprintf(format, args...))
}

func (d *decision) note(s string) { d.notes = append(d.notes, s) }

// noteUnread says, where a file that was consulted could not be read, why:
// "rel: cause", and what is unknown for it when what is not "".
func (d *decision) noteUnread(rel string, f File, what string) {
	if f.State == probe.Unknown && f.Err != nil {
		msg := rel + ": " + probe.ShortErr(f.Err)
		if what != "" {
			msg += "; " + what + " unknown"
		}
		d.note(msg)
	}
}

// identity is where the machine stands, before it is written as facts.
type identity struct {
	vm       string // "" unknown
	levelMin int
	level    int // exact when exact
	exact    bool
}

// Decide tells where the machine the evidence describes stands.
func Decide(e Evidence) Result {
	d := &decision{e: &e, v: probe.Virtualization{Evidence: []string{}}}
	v := &d.v
	if c := d.container(); c != "" {
		v.Container = probe.Ptr(c)
	}
	v.WSL = d.wsl(v.Container)
	id := d.identify()
	if id.vm == "" {
		d.note("where this machine stands cannot be told from what could be read; position unknown")
		return Result{Virtualization: d.v, Notes: d.notes}
	}
	if id.vm == "qemu" {
		id.vm = d.accelerator(id.vm)
	}
	v.VM = probe.Ptr(id.vm)
	switch {
	case id.vm == "none":
		v.Level, v.LevelMin, v.LevelExact = probe.Ptr(0), probe.Ptr(0), true
	case id.exact:
		v.Level, v.LevelMin, v.LevelExact = probe.Ptr(id.level), probe.Ptr(id.level), true
	default:
		v.LevelMin = probe.Ptr(max(1, id.levelMin))
	}
	if h, ok := hypervisorOf[id.vm]; ok {
		v.Hypervisor = probe.Ptr(h)
	} else if id.vm == "qemu" {
		if d.tcg {
			v.Hypervisor = probe.Ptr("qemu")
		} else {
			d.note("QEMU runs this machine, but whether with KVM or by emulation (TCG) cannot be told from here; the hypervisor is unknown")
		}
	} else if id.vm != "vm-other" {
		v.Hypervisor = probe.Ptr("other")
	}
	if ev := CloudL0(v); ev != "" {
		d.evidence("%s", ev)
	}
	if c := probe.Deref(v.Container); c == "wsl" {
		d.evidence("WSL2: a guest of Hyper-V, on a physical Windows (an L1) or inside a Windows VM (an L2, Red Hat's supported case); its depth cannot be seen from inside")
	}
	return Result{Virtualization: d.v, Notes: d.notes}
}

// identify applies the precedence of docs/IDENTITY.md.
func (d *decision) identify() identity {
	e := d.e
	a := e.Arch
	guest := identity{levelMin: 1}
	switch {
	case a == "":
		return identity{}
	case arch.IsIBMZ(a):
		return d.vmIBMZ()
	case arch.IsPower(a):
		return d.vmPower()
	}
	if e.CPUInfo != nil && strings.HasPrefix(e.CPUInfo.VendorID, "User Mode Linux") {
		d.evidence("cpuinfo vendor_id: User Mode Linux")
		guest.vm = "uml"
		return guest
	}
	dm := e.DMI
	var ev []string
	d.v.Cloud, ev = Cloud(dm)
	d.v.Evidence = append(d.v.Evidence, ev...)
	d.v.Platform, d.v.SMBIOS, ev = Platform(dm)
	d.v.Evidence = append(d.v.Evidence, ev...)
	dmiVM, dmiWhat := dm.Vendor()
	smbiosVM := smbiosVMBit(e.SMBIOSRaw)

	// 1. DMI names a product known to borrow a signature, or to be KVM by another name.
	if why, ok := dmiWins[dmiVM]; ok {
		if dmiVM == "amazon" && d.ec2Metal(smbiosVM) {
			return identity{vm: "none"}
		}
		d.evidence("DMI: %q names %s; it outranks the CPUID signature (%s)", dmiWhat, dmiVM, why)
		guest.vm = dmiVM
		return guest
	}
	// 2. Xen: a domU says so in /proc/xen; the control domain may itself be nested,
	// so CPUID is asked first.
	dom0 := false
	if e.ProcXen == probe.Present {
		if xenDom0(e) {
			dom0 = true
		} else {
			d.evidence("proc/xen exists and this is not the control domain: a Xen guest (domU)")
			guest.vm = "xen"
			return guest
		}
	}
	// 3. CPUID, from the top of the hypervisor range down: Xen and KVM with Hyper-V
	// enlightenments put a Hyper-V signature at 0x40000000 and their own above it.
	sigVM, hypervBorrowable := "", false
	if arch.IsX86(a) {
		if fn, sig, vm := SignatureVM(e.CPUID); vm != "" {
			d.evidence("CPUID 0x%08x: %q", fn, sig)
			sigVM = vm
		}
		if sigVM == "microsoft" {
			// QEMU/KVM, Xen, VirtualBox and Parallels present this signature too:
			// DMI and the rest decide first, as systemd-detect-virt does.
			sigVM, hypervBorrowable = "", true
		}
		if sigVM != "" {
			guest.vm = sigVM
			return guest
		}
	}
	if dom0 {
		d.evidence("proc/xen: the control domain (dom0), itself run by Xen")
		guest.vm = "xen"
		return guest
	}
	// 4. DMI for every other product.
	if dmiVM != "" {
		d.evidence("DMI: %q", dmiWhat)
		if hypervBorrowable && dmiVM != "microsoft" {
			d.evidence("the Hyper-V CPUID signature is %s's, presenting Hyper-V enlightenments", dmiVM)
		}
		guest.vm = dmiVM
		return guest
	}
	// 5. /sys/hypervisor, the device tree.
	if t := e.SysHypervisorType; t.State == probe.Present && t.Text() != "" {
		d.evidence("sys/hypervisor/type: %q", t.Text())
		guest.vm = "vm-other"
		if t.Text() == "xen" {
			guest.vm = "xen"
		}
		return guest
	}
	var dtState = probe.Absent
	if !arch.IsX86(a) {
		var vm string
		vm, dtState = d.vmDeviceTree()
		if vm != "" {
			guest.vm = vm
			return guest
		}
	}
	// 6. What is left: a hypervisor that does not say which, or none.
	if hypervBorrowable {
		d.evidence("no other signal names the hypervisor that presents the Hyper-V signature: Hyper-V")
		guest.vm = "microsoft"
		return guest
	}
	hv := e.HypervisorBit
	if (hv != nil && *hv) || (smbiosVM != nil && *smbiosVM) {
		if hv != nil && *hv {
			d.evidence("CPUID: hypervisor bit set, no known signature")
		} else {
			d.evidence("SMBIOS BIOS characteristics: the firmware says this is a virtual machine")
		}
		guest.vm = "vm-other"
		return guest
	}
	// Absence needs evidence too: the hypervisor bit read clear on x86; a device
	// tree or DMI that could be read elsewhere.
	switch {
	case arch.IsX86(a) && hv != nil:
		d.evidence("CPUID: hypervisor bit clear; no hypervisor signature or virtual DMI strings")
		return identity{vm: "none"}
	case !arch.IsX86(a) && (dtState != probe.Unknown || dm.State == probe.Present):
		d.evidence("no hypervisor in the device tree or DMI")
		return identity{vm: "none"}
	}
	if arch.IsX86(a) {
		d.note("neither /proc/cpuinfo nor the CPUID leaves could be read: a hypervisor would be missed")
	}
	return identity{}
}

// ec2Metal tells an EC2 bare-metal instance from a Nitro VM: the SMBIOS VM bit,
// else a ".metal" product name without a hypervisor bit.
func (d *decision) ec2Metal(smbiosVM *bool) bool {
	product := d.e.DMI.Values["product_name"]
	hv := d.e.HypervisorBit
	switch {
	case smbiosVM != nil && !*smbiosVM:
		d.evidence("DMI %q with the SMBIOS VM bit clear: an EC2 bare-metal instance", product)
		return true
	case smbiosVM == nil && strings.Contains(product, ".metal") && (hv == nil || !*hv):
		d.evidence("DMI product %q is an EC2 bare-metal instance and CPUID shows no hypervisor", product)
		return true
	}
	return false
}

// smbiosVMBit reads the SMBIOS BIOS Characteristics Extension Byte 2, bit 4 ("this
// is a virtual machine", DMTF DSP0134 §7.1.2.2). Only root may read the table.
func smbiosVMBit(raw File) *bool {
	if raw.State != probe.Present || len(raw.Data) < 20 || raw.Data[1] < 20 {
		return nil
	}
	return probe.Ptr(raw.Data[19]&(1<<4) != 0)
}

// xenDom0 reads XENFEAT_dom0 (bit 11 of /sys/hypervisor/properties/features), or
// control_d in /proc/xen/capabilities.
func xenDom0(e *Evidence) bool {
	if f := e.XenFeatures; f.State == probe.Present {
		var bits uint64
		if _, err := fmt.Sscanf(f.Text(), "%x", &bits); err == nil {
			return bits&(1<<11) != 0
		}
	}
	return strings.Contains(e.XenCapabilities.Text(), "control_d")
}

// accelerator tells KVM from QEMU's own emulation (TCG) for a QEMU-family guest:
// "kvm" when KVM is proven, else "qemu" (d.tcg says whether emulation is proven).
func (d *decision) accelerator(vm string) string {
	e := d.e
	var kvm, tcg []string
	for fn := uint32(0x40000000); fn <= 0x4000FF00; fn += 0x100 {
		if r, ok := e.CPUID.Get(fn, 0); ok {
			switch r.Signature() {
			case "KVMKVMKVM", "Linux KVM Hv", "LKVMLKVMLKVM":
				kvm = append(kvm, fmt.Sprintf("CPUID signature %q", r.Signature()))
			case "TCGTCGTCGTCG":
				tcg = append(tcg, "CPUID signature \"TCGTCGTCGTCG\"")
			}
		}
	}
	if prod := e.DMI.Values["product_name"]; prod == "KVM Virtual Machine" {
		kvm = append(kvm, "DMI product \"KVM Virtual Machine\" (QEMU's virt machines under KVM)")
	} else if prod == "QEMU Virtual Machine" {
		tcg = append(tcg, "DMI product \"QEMU Virtual Machine\" (QEMU's virt machines without KVM)")
	}
	if e.CPUInfo != nil && strings.Contains(e.CPUInfo.Model, "QEMU TCG CPU") {
		tcg = append(tcg, fmt.Sprintf("CPU model %q", e.CPUInfo.Model))
	}
	if cs := e.Clocksource; cs.State == probe.Present && strings.Contains(cs.Text(), "kvm-clock") {
		kvm = append(kvm, "the kvm-clock clocksource (KVM's paravirtual clock)")
	}
	if dt := e.DTHypervisor; dt.State == probe.Present && strings.Contains(dt.Text(), "linux,kvm") {
		kvm = append(kvm, "device tree hypervisor linux,kvm")
	}
	switch {
	case len(kvm) > 0 && len(tcg) > 0:
		d.note(fmt.Sprintf("the evidence contradicts itself: KVM (%s) and QEMU emulation (%s); accelerator unknown", strings.Join(kvm, ", "), strings.Join(tcg, ", ")))
		return "qemu"
	case len(kvm) > 0:
		d.evidence("KVM, not emulation: %s", strings.Join(kvm, ", "))
		return "kvm"
	case len(tcg) > 0:
		d.evidence("QEMU emulation (TCG), not KVM: %s", strings.Join(tcg, ", "))
		d.tcg = true
		return "qemu"
	}
	return vm
}

// Platform names the Red Hat offering that manages the machine's L0, as DMI
// says (dmiPlatforms), and whether the machine has SMBIOS at all: on x86, QEMU
// (and so libvirt) always gives its guests an SMBIOS table; KVM without one is
// another VMM (Firecracker and the like), which libvirt does not manage. Both
// are nil when DMI could not be read.
func Platform(dm DMI) (platform *string, smbios *bool, evidence []string) {
	switch dm.State {
	case probe.Absent:
		return probe.Ptr("none"), probe.Ptr(false), nil
	case probe.Unknown:
		return nil, nil, nil
	}
	for _, dp := range dmiPlatforms {
		if s := dm.Values[dp.file]; s != "" && strings.HasPrefix(s, dp.prefix) {
			return probe.Ptr(dp.platform), probe.Ptr(true), []string{fmt.Sprintf("DMI %s %q: the guest of %s", dp.file, s, platformName[dp.platform])}
		}
	}
	return probe.Ptr("none"), probe.Ptr(true), nil
}

// Cloud names the cloud DMI says runs the machine ("none" when it names none);
// nil when DMI could not be read.
func Cloud(dm DMI) (cloud *string, evidence []string) {
	switch dm.State {
	case probe.Absent:
		return probe.Ptr("none"), nil // no DMI: nothing names a cloud
	case probe.Unknown:
		return nil, nil
	}
	switch tag := dm.Values["chassis_asset_tag"]; tag {
	case azureAssetTag:
		return probe.Ptr("azure"), []string{"DMI chassis asset tag: Azure"}
	case "OracleCloud.com":
		return probe.Ptr("oci"), nil
	}
	for _, f := range []string{"sys_vendor", "product_name", "bios_vendor"} {
		for _, cl := range dmiClouds {
			if v := dm.Values[f]; v != "" && strings.HasPrefix(v, cl.prefix) {
				return probe.Ptr(cl.cloud), nil
			}
		}
	}
	return probe.Ptr("none"), nil
}

// vmDeviceTree reads the device tree (ARM, RISC-V). It returns the VM name ("" for
// none seen) and what is known of the device tree.
func (d *decision) vmDeviceTree() (string, probe.State) {
	e := d.e
	if c := e.DTHypervisor; c.State == probe.Present {
		t := strings.ReplaceAll(c.Text(), "\x00", " ")
		d.evidence("device tree hypervisor: %q", t)
		switch {
		case strings.Contains(t, "linux,kvm"):
			return "kvm", probe.Present
		case strings.Contains(t, "xen"):
			return "xen", probe.Present
		case strings.Contains(t, "vmware"):
			return "vmware", probe.Present
		}
		return "vm-other", probe.Present
	}
	for _, fw := range e.DTFwCfg {
		d.evidence("device tree %s: %q (QEMU's firmware configuration device)", fw.Path, strings.TrimRight(fw.Compatible.Text(), "\x00"))
		return "qemu", probe.Present
	}
	if c := e.DTCompatible; c.State == probe.Present && strings.Contains(c.Text(), "linux,dummy-virt") {
		// kvmtool's machine; QEMU's virt machine also has fw-cfg, seen above.
		d.evidence("device tree compatible: \"linux,dummy-virt\" without QEMU's fw-cfg (kvmtool)")
		return "kvm", probe.Present
	}
	return "", e.DTFwCfgState
}

func (d *decision) vmPower() identity {
	e := d.e
	guest := identity{levelMin: 1}
	if c := e.DTHypervisor; c.State == probe.Present && strings.Contains(c.Text(), "linux,kvm") {
		d.evidence("device tree hypervisor: linux,kvm")
		guest.vm = "kvm"
		return guest
	}
	// PowerVM from the device tree, as systemd-detect-virt reads it.
	if e.PartitionName == probe.Present && e.HMCManaged == probe.Present && e.QEMUGraphicWidth != probe.Present {
		d.evidence("device tree: ibm,partition-name and hmc-managed?, no QEMU display: a PowerVM logical partition")
		guest.vm = "powervm"
		return guest
	}
	if e.CPUInfo == nil {
		d.note("no /proc/cpuinfo: a POWER machine's platform is unknown")
		return identity{}
	}
	ci := e.CPUInfo
	switch {
	case ci.Platform == "PowerNV":
		d.evidence("cpuinfo platform: PowerNV (bare metal, OPAL firmware)")
		return identity{vm: "none"}
	case ci.Platform == "pSeries" && (strings.Contains(ci.Machine, "qemu") || strings.Contains(ci.PPCModel, "qemu")):
		d.evidence("cpuinfo: pSeries machine emulated by QEMU (%q) on the host's own CPU (%q): KVM", ci.Machine, ci.Model)
		guest.vm = "kvm"
		return guest
	case ci.Platform == "pSeries" || e.LPARCfg == probe.Present:
		d.evidence("cpuinfo platform pSeries / proc/ppc64/lparcfg: a PowerVM logical partition")
		guest.vm = "powervm"
		return guest
	}
	d.note("no POWER platform line in cpuinfo; position unknown")
	return identity{}
}

// maxZVMLevels is the number of VM descriptions a SYSIB 3.2.2 (the source of
// /proc/sysinfo's VMnn blocks) can hold.
const maxZVMLevels = 8

func (d *decision) vmIBMZ() identity {
	f := d.e.SysInfo
	d.noteUnread("proc/sysinfo", f, "IBM Z position and depth")
	if f.State != probe.Present {
		if f.State == probe.Absent {
			d.note("no proc/sysinfo: an IBM Z machine's position and depth are unknown")
		}
		return identity{}
	}
	si := probe.ParseSysInfo(f.Data)
	if si.Bad == "" && len(si.VMs) > maxZVMLevels {
		si.Bad = fmt.Sprintf("proc/sysinfo lists %d VM levels; IBM Z describes at most %d", len(si.VMs), maxZVMLevels)
	}
	if si.Bad != "" {
		d.note(si.Bad + "; depth unknown")
		return identity{vm: "vm-other", levelMin: 1}
	}
	if len(si.VMs) == 0 {
		if !si.LPAR {
			d.note("proc/sysinfo names neither an LPAR nor VM levels; position unknown")
			return identity{}
		}
		d.evidence("proc/sysinfo: an LPAR with no VM levels (bare metal for KVM)")
		return identity{vm: "none"}
	}
	for i, cp := range si.VMs {
		d.evidence("proc/sysinfo VM%02d control program: %q", i, cp)
	}
	id := identity{vm: "vm-other", level: len(si.VMs), levelMin: len(si.VMs), exact: true}
	switch cp := si.VMs[0]; {
	case strings.Contains(cp, "z/VM"):
		id.vm = "zvm"
	case strings.Contains(cp, "KVM"):
		id.vm = "kvm"
	}
	return id
}

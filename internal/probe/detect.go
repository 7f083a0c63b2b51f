package probe

import (
	"fmt"
	"strings"

	"github.com/nestvirt/nestvirt/internal/arch"
)

// Identity is decided by evidence, in the order of docs/IDENTITY.md; each step
// records what it rests on. The order matters where signals disagree: several
// hypervisors present another's CPUID signature (VirtualBox's KVM and Hyper-V
// paravirtualisation providers, Parallels and QEMU with Hyper-V enlightenments),
// or run on KVM under their own name (EC2 Nitro, Compute Engine), while DMI names
// the product. Those DMI names outrank the signature they are known to borrow.

// cpuidVendors maps hypervisor signatures (CPUID leaf 0x40000x00) to
// systemd-detect-virt's names.
var cpuidVendors = map[string]string{
	"KVMKVMKVM":    "kvm",
	"Linux KVM Hv": "kvm", // KVM's own Hyper-V emulation
	"LKVMLKVMLKVM": "kvm", // kvmtool
	"TCGTCGTCGTCG": "qemu",
	"VMwareVMware": "vmware",
	"Microsoft Hv": "microsoft",
	"XenVMMXenVMM": "xen",
	"bhyve bhyve ": "bhyve",
	"QNXQVMBSQG":   "qnx",
	"ACRNACRNACRN": "acrn",
	" lrpepyh  vr": "parallels",
	"VBoxVBoxVBox": "oracle",
	"OpenBSDVMM58": "vmm",
	"___ NVMM ___": "nvmm",
	"SRESRESRESRE": "sre",
	"Jailhouse":    "jailhouse",
	"Apple VZ":     "apple",
}

// dmiVendors maps DMI strings to VM names, first match by prefix wins, as
// systemd-detect-virt's table does.
var dmiVendors = []struct{ prefix, vm string }{
	{"KVM", "kvm"}, {"OpenStack", "kvm"}, {"KubeVirt", "kvm"}, {"Alibaba Cloud", "kvm"},
	{"Amazon EC2", "amazon"}, {"QEMU", "qemu"}, {"Bochs", "qemu"},
	{"VMware", "vmware"}, {"VMW", "vmware"},
	{"innotek GmbH", "oracle"}, {"VirtualBox", "oracle"}, {"Oracle Corporation", "oracle"},
	{"Xen", "xen"}, {"Parallels", "parallels"}, {"BHYVE", "bhyve"},
	{"Hyper-V", "microsoft"}, {"Apple Virtualization", "apple"}, {"Google", "google"},
}

// dmiFiles are read in systemd's order: the product first, so QEMU's "KVM Virtual
// Machine" is read before its sys_vendor "QEMU".
var dmiFiles = []string{"product_name", "sys_vendor", "board_vendor", "bios_vendor", "product_version"}

// dmiWins are the products DMI names over a CPUID signature: each is known to
// present another hypervisor's signature, or to run on KVM under its own name.
var dmiWins = map[string]string{
	"oracle":    "VirtualBox's paravirtualisation providers present KVM's or Hyper-V's CPUID interface",
	"parallels": "Parallels presents Hyper-V's CPUID interface with its enlightenments",
	"amazon":    "EC2 Nitro instances run on KVM and present its signature",
	"google":    "Compute Engine runs on KVM and presents its signature",
	"xen":       "Xen HVM with viridian presents Hyper-V's CPUID interface",
}

// dmiClouds names the cloud where DMI says so.
var dmiClouds = []struct{ prefix, cloud string }{
	{"Amazon EC2", "aws"}, {"Google", "gcp"}, {"Alibaba Cloud", "alibaba"}, {"OpenStack", "openstack"},
	{"DigitalOcean", "digitalocean"}, {"Hetzner", "hetzner"}, {"OracleCloud.com", "oci"}, {"Tencent Cloud", "tencent"},
}

// dmiPlatforms name the Red Hat virtualization offerings by the SMBIOS strings
// each writes into the guests it defines: the L0's management layer, seen from
// inside the L1.
//   - OpenStack Nova: product "OpenStack Nova", vendor "OpenStack Foundation"
//     (openstack/nova nova/version.py, NOVA_PRODUCT and NOVA_VENDOR); the RDO and
//     Red Hat OpenStack Platform packages name the product "OpenStack Compute".
//   - oVirt and Red Hat Virtualization (VDSM): product "oVirt Node" or "RHEV
//     Hypervisor" (oVirt vdsm, constants.SMBIOS_OSNAME, which appendSysinfo
//     writes as the guest's system product), manufacturer "oVirt" or "Red Hat".
//   - KubeVirt, under OpenShift Virtualization: manufacturer "KubeVirt", family
//     "KubeVirt", product "None" (kubevirt/kubevirt pkg/virt-config,
//     SmbiosConfigDefaultManufacturer and its siblings), unless the cluster's
//     SMBIOS configuration was changed; then DMI cannot tell, and host.yaml can.
var dmiPlatforms = []struct{ file, prefix, platform string }{
	{"product_name", "OpenStack", "openstack"},
	{"product_name", "RHEV Hypervisor", "rhv"},
	{"product_name", "oVirt Node", "rhv"},
	{"sys_vendor", "KubeVirt", "openshift-virtualization"},
}

// azureAssetTag is the chassis asset tag Azure VMs carry.
const azureAssetTag = "7783-7084-3265-9085-8269-3286-77"

// hypervisorOf maps a VM name to what runs the machine, in topology words.
var hypervisorOf = map[string]string{"none": "none", "kvm": "kvm", "vmware": "esxi", "microsoft": "hyper-v", "xen": "xen", "amazon": "aws"}

// dmi is what /sys/class/dmi/id says.
type dmi struct {
	state  State
	values map[string]string
}

func (p *prober) readDMI() dmi {
	d := dmi{values: map[string]string{}}
	d.state, _ = p.root.Exists("sys/class/dmi/id")
	if d.state != Present {
		return d
	}
	for _, f := range append(dmiFiles, "chassis_asset_tag") {
		if s, st := p.readString("sys/class/dmi/id/" + f); st == Present {
			d.values[f] = s
		}
	}
	return d
}

// vendor finds the first DMI string that names a hypervisor.
func (d dmi) vendor() (vm, what string) {
	for _, f := range dmiFiles {
		s := d.values[f]
		for _, v := range dmiVendors {
			if s != "" && strings.HasPrefix(s, v.prefix) {
				return v.vm, s
			}
		}
	}
	if strings.HasPrefix(d.values["sys_vendor"], "Microsoft Corporation") && d.values["product_name"] == "Virtual Machine" {
		return "microsoft", "Microsoft Corporation Virtual Machine"
	}
	return "", ""
}

// identity is the outcome of detection.
type identity struct {
	vm       string // "" unknown
	levelMin int
	level    int // exact when exact
	exact    bool
}

func (p *prober) detect() {
	v := &p.f.Virtualization
	if c := p.container(); c != "" {
		v.Container = ptr(c)
	}
	v.WSL = p.wsl(v.Container)
	id := p.identify()
	if id.vm == "" {
		p.note("where this machine stands cannot be told from what could be read; position unknown")
		return
	}
	if id.vm == "qemu" {
		id.vm = p.accelerator(id.vm)
	}
	v.VM = ptr(id.vm)
	switch {
	case id.vm == "none":
		v.Level, v.LevelMin, v.LevelExact = ptr(0), ptr(0), true
	case id.exact:
		v.Level, v.LevelMin, v.LevelExact = ptr(id.level), ptr(id.level), true
	default:
		v.LevelMin = ptr(max(1, id.levelMin))
	}
	if h, ok := hypervisorOf[id.vm]; ok {
		v.Hypervisor = ptr(h)
	} else if id.vm == "qemu" {
		if p.tcg {
			v.Hypervisor = ptr("qemu")
		} else {
			p.note("QEMU runs this machine, but whether with KVM or by emulation (TCG) cannot be told from here; the hypervisor is unknown")
		}
	} else if id.vm != "vm-other" {
		v.Hypervisor = ptr("other")
	}
	if c := deref(v.Container); c == "wsl" {
		p.evidence("WSL2: a guest of Hyper-V, on a physical Windows (an L1) or inside a Windows VM (an L2, Red Hat's supported case); its depth cannot be seen from inside")
	}
}

// identify applies the precedence of docs/IDENTITY.md.
func (p *prober) identify() identity {
	a := deref(p.f.Arch)
	guest := identity{levelMin: 1}
	switch {
	case a == "":
		return identity{}
	case arch.IsIBMZ(a):
		return p.vmIBMZ()
	case arch.IsPower(a):
		return p.vmPower()
	}
	if p.ci != nil && strings.HasPrefix(p.ci.VendorID, "User Mode Linux") {
		p.evidence("cpuinfo vendor_id: User Mode Linux")
		guest.vm = "uml"
		return guest
	}
	d := p.readDMI()
	p.cloud(d)
	p.platform(d)
	dmiVM, dmiWhat := d.vendor()
	smbiosVM := p.smbiosVMBit()

	// 1. DMI names a product known to borrow a signature, or to be KVM by another name.
	if why, ok := dmiWins[dmiVM]; ok {
		if dmiVM == "amazon" && p.ec2Metal(d, smbiosVM) {
			return identity{vm: "none"}
		}
		p.evidence("DMI: %q names %s; it outranks the CPUID signature (%s)", dmiWhat, dmiVM, why)
		guest.vm = dmiVM
		return guest
	}
	// 2. Xen: a domU says so in /proc/xen; the control domain may itself be nested,
	// so CPUID is asked first.
	xenState, _ := p.root.Exists("proc/xen")
	dom0 := false
	if xenState == Present {
		if p.xenDom0() {
			dom0 = true
		} else {
			p.evidence("proc/xen exists and this is not the control domain: a Xen guest (domU)")
			guest.vm = "xen"
			return guest
		}
	}
	// 3. CPUID, from the top of the hypervisor range down: Xen and KVM with Hyper-V
	// enlightenments put a Hyper-V signature at 0x40000000 and their own above it.
	sigVM, hypervBorrowable := "", false
	if arch.IsX86(a) {
		if fn, sig, vm := signatureVM(p.cpu); vm != "" {
			p.evidence("CPUID 0x%08x: %q", fn, sig)
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
		p.evidence("proc/xen: the control domain (dom0), itself run by Xen")
		guest.vm = "xen"
		return guest
	}
	// 4. DMI for every other product.
	if dmiVM != "" {
		p.evidence("DMI: %q", dmiWhat)
		if hypervBorrowable && dmiVM != "microsoft" {
			p.evidence("the Hyper-V CPUID signature is %s's, presenting Hyper-V enlightenments", dmiVM)
		}
		guest.vm = dmiVM
		return guest
	}
	// 5. /sys/hypervisor, the device tree.
	if t, st := p.readString("sys/hypervisor/type"); st == Present && t != "" {
		p.evidence("sys/hypervisor/type: %q", t)
		guest.vm = "vm-other"
		if t == "xen" {
			guest.vm = "xen"
		}
		return guest
	}
	var dtState State = Absent
	if !arch.IsX86(a) {
		var vm string
		vm, dtState = p.vmDeviceTree()
		if vm != "" {
			guest.vm = vm
			return guest
		}
	}
	// 6. What is left: a hypervisor that does not say which, or none.
	if hypervBorrowable {
		p.evidence("no other signal names the hypervisor that presents the Hyper-V signature: Hyper-V")
		guest.vm = "microsoft"
		return guest
	}
	hv := p.f.HypervisorBit
	if (hv != nil && *hv) || (smbiosVM != nil && *smbiosVM) {
		if hv != nil && *hv {
			p.evidence("CPUID: hypervisor bit set, no known signature")
		} else {
			p.evidence("SMBIOS BIOS characteristics: the firmware says this is a virtual machine")
		}
		guest.vm = "vm-other"
		return guest
	}
	// Absence needs evidence too: the hypervisor bit read clear on x86; a device
	// tree or DMI that could be read elsewhere.
	switch {
	case arch.IsX86(a) && hv != nil:
		p.evidence("CPUID: hypervisor bit clear; no hypervisor signature or virtual DMI strings")
		return identity{vm: "none"}
	case !arch.IsX86(a) && (dtState != Unknown || d.state == Present):
		p.evidence("no hypervisor in the device tree or DMI")
		return identity{vm: "none"}
	}
	if arch.IsX86(a) {
		p.note("neither /proc/cpuinfo nor the CPUID leaves could be read: a hypervisor would be missed")
	}
	return identity{}
}

// signatureVM finds the hypervisor signature that names the hypervisor, from the
// top of the range down: Xen and KVM with Hyper-V enlightenments put a Hyper-V
// signature at 0x40000000 and their own above it. vm is "" when none is known.
func signatureVM(cpu CPUID) (fn uint32, sig, vm string) {
	for fn := uint32(0x4000FF00); ; fn -= 0x100 {
		if r, ok := cpu.Get(fn, 0); ok {
			sig := r.signature()
			if vm, known := cpuidVendors[sig]; known {
				return fn, sig, vm
			}
		}
		if fn == 0x40000000 {
			return 0, "", ""
		}
	}
}

// ec2Metal tells an EC2 bare-metal instance from a Nitro VM: the SMBIOS VM bit,
// else a ".metal" product name without a hypervisor bit.
func (p *prober) ec2Metal(d dmi, smbiosVM *bool) bool {
	product := d.values["product_name"]
	hv := p.f.HypervisorBit
	switch {
	case smbiosVM != nil && !*smbiosVM:
		p.evidence("DMI %q with the SMBIOS VM bit clear: an EC2 bare-metal instance", product)
		return true
	case smbiosVM == nil && strings.Contains(product, ".metal") && (hv == nil || !*hv):
		p.evidence("DMI product %q is an EC2 bare-metal instance and CPUID shows no hypervisor", product)
		return true
	}
	return false
}

// smbiosVMBit reads the SMBIOS BIOS Characteristics Extension Byte 2, bit 4 ("this
// is a virtual machine", DMTF DSP0134 §7.1.2.2). Only root may read the table.
func (p *prober) smbiosVMBit() *bool {
	raw, st, _ := p.root.Read("sys/firmware/dmi/entries/0-0/raw")
	if st != Present || len(raw) < 20 || raw[1] < 20 {
		return nil
	}
	return ptr(raw[19]&(1<<4) != 0)
}

// xenDom0 reads XENFEAT_dom0 (bit 11 of /sys/hypervisor/properties/features), or
// control_d in /proc/xen/capabilities.
func (p *prober) xenDom0() bool {
	if f, st := p.readString("sys/hypervisor/properties/features"); st == Present {
		var bits uint64
		if _, err := fmt.Sscanf(f, "%x", &bits); err == nil {
			return bits&(1<<11) != 0
		}
	}
	caps, _ := p.readString("proc/xen/capabilities")
	return strings.Contains(caps, "control_d")
}

// accelerator tells KVM from QEMU's own emulation (TCG) for a QEMU-family guest:
// "kvm" when KVM is proven, else "qemu" (p.tcg says whether emulation is proven).
func (p *prober) accelerator(vm string) string {
	var kvm, tcg []string
	for fn := uint32(0x40000000); fn <= 0x4000FF00; fn += 0x100 {
		if r, ok := p.cpu.Get(fn, 0); ok {
			switch r.signature() {
			case "KVMKVMKVM", "Linux KVM Hv", "LKVMLKVMLKVM":
				kvm = append(kvm, fmt.Sprintf("CPUID signature %q", r.signature()))
			case "TCGTCGTCGTCG":
				tcg = append(tcg, "CPUID signature \"TCGTCGTCGTCG\"")
			}
		}
	}
	if prod, _ := p.readString("sys/class/dmi/id/product_name"); prod == "KVM Virtual Machine" {
		kvm = append(kvm, "DMI product \"KVM Virtual Machine\" (QEMU's virt machines under KVM)")
	} else if prod == "QEMU Virtual Machine" {
		tcg = append(tcg, "DMI product \"QEMU Virtual Machine\" (QEMU's virt machines without KVM)")
	}
	if p.ci != nil && strings.Contains(p.ci.Model, "QEMU TCG CPU") {
		tcg = append(tcg, fmt.Sprintf("CPU model %q", p.ci.Model))
	}
	if cs, st := p.readString("sys/devices/system/clocksource/clocksource0/available_clocksource"); st == Present && strings.Contains(cs, "kvm-clock") {
		kvm = append(kvm, "the kvm-clock clocksource (KVM's paravirtual clock)")
	}
	if dt, st := p.readString("proc/device-tree/hypervisor/compatible"); st == Present && strings.Contains(dt, "linux,kvm") {
		kvm = append(kvm, "device tree hypervisor linux,kvm")
	}
	switch {
	case len(kvm) > 0 && len(tcg) > 0:
		p.note(fmt.Sprintf("the evidence contradicts itself: KVM (%s) and QEMU emulation (%s); accelerator unknown", strings.Join(kvm, ", "), strings.Join(tcg, ", ")))
		return "qemu"
	case len(kvm) > 0:
		p.evidence("KVM, not emulation: %s", strings.Join(kvm, ", "))
		return "kvm"
	case len(tcg) > 0:
		p.evidence("QEMU emulation (TCG), not KVM: %s", strings.Join(tcg, ", "))
		p.tcg = true
		return "qemu"
	}
	return vm
}

// platform names the Red Hat offering that manages this machine's L0, as DMI
// says (dmiPlatforms), and whether the machine has SMBIOS at all: on x86, QEMU
// (and so libvirt) always gives its guests an SMBIOS table; KVM without one is
// another VMM (Firecracker and the like), which libvirt does not manage.
func (p *prober) platform(d dmi) {
	v := &p.f.Virtualization
	switch d.state {
	case Absent:
		v.SMBIOS, v.Platform = ptr(false), ptr("none")
		return
	case Unknown:
		return
	}
	v.SMBIOS, v.Platform = ptr(true), ptr("none")
	for _, dp := range dmiPlatforms {
		if s := d.values[dp.file]; s != "" && strings.HasPrefix(s, dp.prefix) {
			v.Platform = ptr(dp.platform)
			p.evidence("DMI %s %q: the guest of %s", dp.file, s, platformName[dp.platform])
			return
		}
	}
}

// platformName is how a person names each platform.
var platformName = map[string]string{"openstack": "Red Hat OpenStack Platform (OpenStack Nova)", "rhv": "Red Hat Virtualization (oVirt)", "openshift-virtualization": "OpenShift Virtualization (KubeVirt)"}

func (p *prober) cloud(d dmi) {
	switch d.state {
	case Absent:
		p.f.Virtualization.Cloud = ptr("none") // no DMI: nothing names a cloud
		return
	case Unknown:
		return
	}
	c := &p.f.Virtualization.Cloud
	switch tag := d.values["chassis_asset_tag"]; tag {
	case azureAssetTag:
		*c = ptr("azure")
		p.evidence("DMI chassis asset tag: Azure")
		return
	case "OracleCloud.com":
		*c = ptr("oci")
		return
	}
	for _, f := range []string{"sys_vendor", "product_name", "bios_vendor"} {
		for _, cl := range dmiClouds {
			if v := d.values[f]; v != "" && strings.HasPrefix(v, cl.prefix) {
				*c = ptr(cl.cloud)
				return
			}
		}
	}
	*c = ptr("none")
}

// vmDeviceTree reads the device tree (ARM, RISC-V). It returns the VM name ("" for
// none seen) and what is known of the device tree.
func (p *prober) vmDeviceTree() (string, State) {
	if c, st := p.readString("proc/device-tree/hypervisor/compatible"); st == Present {
		c = strings.ReplaceAll(c, "\x00", " ")
		p.evidence("device tree hypervisor: %q", c)
		switch {
		case strings.Contains(c, "linux,kvm"):
			return "kvm", Present
		case strings.Contains(c, "xen"):
			return "xen", Present
		case strings.Contains(c, "vmware"):
			return "vmware", Present
		}
		return "vm-other", Present
	}
	fws, st := p.root.Glob("proc/device-tree/fw-cfg*")
	for _, fw := range fws {
		c, _ := p.readString(fw + "/compatible")
		p.evidence("device tree %s: %q (QEMU's firmware configuration device)", fw, strings.TrimRight(c, "\x00"))
		return "qemu", Present
	}
	if c, cst := p.readString("proc/device-tree/compatible"); cst == Present && strings.Contains(c, "linux,dummy-virt") {
		// kvmtool's machine; QEMU's virt machine also has fw-cfg, seen above.
		p.evidence("device tree compatible: \"linux,dummy-virt\" without QEMU's fw-cfg (kvmtool)")
		return "kvm", Present
	}
	return "", st
}

func (p *prober) vmPower() identity {
	guest := identity{levelMin: 1}
	if c, st := p.readString("proc/device-tree/hypervisor/compatible"); st == Present && strings.Contains(c, "linux,kvm") {
		p.evidence("device tree hypervisor: linux,kvm")
		guest.vm = "kvm"
		return guest
	}
	// PowerVM from the device tree, as systemd-detect-virt reads it.
	name, _ := p.root.Exists("proc/device-tree/ibm,partition-name")
	hmc, _ := p.root.Exists("proc/device-tree/hmc-managed?")
	qemuGfx, _ := p.root.Exists("proc/device-tree/chosen/qemu,graphic-width")
	if name == Present && hmc == Present && qemuGfx != Present {
		p.evidence("device tree: ibm,partition-name and hmc-managed?, no QEMU display: a PowerVM logical partition")
		guest.vm = "powervm"
		return guest
	}
	if p.ci == nil {
		p.note("no /proc/cpuinfo: a POWER machine's platform is unknown")
		return identity{}
	}
	ci := p.ci
	lpar, _ := p.root.Exists("proc/ppc64/lparcfg")
	switch {
	case ci.Platform == "PowerNV":
		p.evidence("cpuinfo platform: PowerNV (bare metal, OPAL firmware)")
		return identity{vm: "none"}
	case ci.Platform == "pSeries" && (strings.Contains(ci.Machine, "qemu") || strings.Contains(ci.PPCModel, "qemu")):
		p.evidence("cpuinfo: pSeries machine emulated by QEMU (%q) on the host's own CPU (%q): KVM", ci.Machine, ci.Model)
		guest.vm = "kvm"
		return guest
	case ci.Platform == "pSeries" || lpar == Present:
		p.evidence("cpuinfo platform pSeries / proc/ppc64/lparcfg: a PowerVM logical partition")
		guest.vm = "powervm"
		return guest
	}
	p.note("no POWER platform line in cpuinfo; position unknown")
	return identity{}
}

// maxZVMLevels is the number of VM descriptions a SYSIB 3.2.2 (the source of
// /proc/sysinfo's VMnn blocks) can hold.
const maxZVMLevels = 8

func (p *prober) vmIBMZ() identity {
	data, st := p.read("proc/sysinfo", "IBM Z position and depth")
	if st != Present {
		if st == Absent {
			p.note("no proc/sysinfo: an IBM Z machine's position and depth are unknown")
		}
		return identity{}
	}
	si := ParseSysInfo(data)
	if si.Bad == "" && len(si.VMs) > maxZVMLevels {
		si.Bad = fmt.Sprintf("proc/sysinfo lists %d VM levels; IBM Z describes at most %d", len(si.VMs), maxZVMLevels)
	}
	if si.Bad != "" {
		p.note(si.Bad + "; depth unknown")
		return identity{vm: "vm-other", levelMin: 1}
	}
	if len(si.VMs) == 0 {
		if !si.LPAR {
			p.note("proc/sysinfo names neither an LPAR nor VM levels; position unknown")
			return identity{}
		}
		p.evidence("proc/sysinfo: an LPAR with no VM levels (bare metal for KVM)")
		return identity{vm: "none"}
	}
	for i, cp := range si.VMs {
		p.evidence("proc/sysinfo VM%02d control program: %q", i, cp)
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

// containerName takes what a container manager's file says as the container's
// name only when it is one: a plain token such as systemd's ids (docker,
// podman, lxc, systemd-nspawn, oci, ...). Anything else (a script, several lines,
// a kilobyte of text) is a container all the same, whose manager cannot be
// named: container-other, with a note; its text goes nowhere else.
func (p *prober) containerName(from, v string) string {
	if identifier(v) {
		p.evidence("%s: %s", strings.TrimSuffix(from, "="), v)
		return v
	}
	p.note(fmt.Sprintf("%s holds no container manager's name (%d bytes, not a plain token): recorded as container-other", strings.TrimSuffix(from, "="), len(v)))
	return "container-other"
}

// identifier reports whether s is a plain lowercase token, as the names
// container managers and systemd give: letters, digits, '.', '_' and '-', at
// most 32 bytes, one line.
func identifier(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range []byte(s) {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// container names the container this process runs in, as systemd-detect-virt
// does; "" when it cannot be told.
func (p *prober) container() string {
	// An illumos LX zone says container=zone; its kernel string is more specific.
	if v, st := p.readString("proc/version"); st == Present && strings.Contains(v, "BrandZ") {
		p.evidence("proc/version: BrandZ (illumos LX zone)")
		return "illumos-lx"
	}
	if rel, st := p.readString("proc/sys/kernel/osrelease"); st == Present && (strings.Contains(rel, "Microsoft") || strings.Contains(rel, "WSL")) {
		p.evidence("kernel release %q (WSL)", rel)
		return "wsl"
	}
	for _, f := range []string{"proc/sys/fs/binfmt_misc/WSLInterop", "proc/sys/fs/binfmt_misc/WSLInterop-late"} {
		if st, _ := p.root.Exists(f); st == Present {
			p.evidence("%s exists", f)
			return "wsl"
		}
	}
	if v, st := p.readString("run/host/container-manager"); st == Present && v != "" {
		return p.containerName("run/host/container-manager", v)
	}
	known := false // whether any source that would name a container could be read
	env, st := p.read("proc/1/environ", "")
	if st == Present {
		known = true
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, found := strings.CutPrefix(kv, "container="); found && v != "" {
				return p.containerName("proc/1/environ: container=", v)
			}
		}
	}
	if st, _ := p.root.Exists("run/.containerenv"); st == Present {
		p.evidence("run/.containerenv exists")
		return "podman"
	}
	if v, st := p.readString("run/systemd/container"); st == Present && v != "" {
		return p.containerName("run/systemd/container", v)
	}
	for _, cg := range []string{"proc/1/cgroup", "proc/self/cgroup"} {
		data, st := p.readString(cg)
		if st != Present {
			continue
		}
		known = true
		for _, m := range []struct{ sub, name string }{{"/docker/", "docker"}, {"/docker-", "docker"}, {"/lxc/", "lxc"}, {"/lxc.payload", "lxc"}, {"libpod", "podman"}, {"crio-", "crio"}, {"/kubepods", "container-other"}} {
			if strings.Contains(data, m.sub) {
				p.evidence("%s mentions %q", cg, strings.Trim(m.sub, "/-"))
				return m.name
			}
		}
	}
	// OpenVZ: /proc/vz exists in containers and on the host; only the host has /proc/bc.
	if vz, _ := p.root.Exists("proc/vz"); vz == Present {
		if bc, _ := p.root.Exists("proc/bc"); bc == Absent {
			p.evidence("proc/vz exists without proc/bc (an OpenVZ container)")
			return "openvz"
		}
	}
	dockerenv, _ := p.root.Exists(".dockerenv")
	dockerinit, _ := p.root.Exists(".dockerinit")
	if dockerenv == Unknown || dockerinit == Unknown {
		// A report that did not collect the markers (a sosreport): nothing
		// found is not "none".
		return ""
	}
	if dockerenv == Present || dockerinit == Present {
		if init := p.kernelInit(); init != "" {
			p.evidence("/.dockerenv exists, but PID 1 (%s) is the kernel's own init (%s on the kernel command line): a VM whose root file system was built from a container image, not a container", init, init)
			return "none"
		}
		p.evidence("/.dockerenv exists")
		return "docker"
	}
	// The markers are files at the root; their absence is what systemd-detect-virt
	// reads as "none" too. A tree with no proc at all says nothing either way.
	if !known {
		if s, _ := p.root.Exists("proc"); s != Present {
			return ""
		}
	}
	return "none"
}

// wsl says whether this is WSL: Microsoft's WSL kernels name themselves in
// their release ("-microsoft-standard-WSL2", "-Microsoft"), and WSL registers its
// interop binfmt. A known release without the name rules WSL out.
func (p *prober) wsl(container *string) *bool {
	if container != nil {
		return ptr(*container == "wsl")
	}
	binfmt := Absent
	for _, f := range []string{"proc/sys/fs/binfmt_misc/WSLInterop", "proc/sys/fs/binfmt_misc/WSLInterop-late"} {
		if st, _ := p.root.Exists(f); st != Absent {
			binfmt = st
		}
	}
	if binfmt == Present {
		return ptr(true)
	}
	if _, st := p.readString("proc/sys/kernel/osrelease"); st == Present || binfmt == Absent {
		return ptr(false) // container() would have named WSL from either
	}
	return nil
}

// kernelInit returns PID 1's program when the kernel command line names it as
// init= or rdinit=: then PID 1 was started by this kernel, outside any container.
func (p *prober) kernelInit() string {
	cmdline, st := p.readString("proc/cmdline")
	if st != Present {
		return ""
	}
	argv, st := p.read("proc/1/cmdline", "")
	if st != Present || len(argv) == 0 {
		return ""
	}
	prog := string(argv)
	if i := strings.IndexByte(prog, 0); i >= 0 {
		prog = prog[:i]
	}
	for _, w := range strings.Fields(cmdline) {
		if w == "--" {
			break
		}
		k, v, found := strings.Cut(w, "=")
		if found && (k == "init" || k == "rdinit") && v == prog {
			return prog
		}
	}
	return ""
}

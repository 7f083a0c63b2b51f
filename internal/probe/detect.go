package probe

import (
	"fmt"
	"strings"
)

// cpuidVendors maps hypervisor signatures (CPUID leaf 0x40000x00) to
// systemd-detect-virt's names.
var cpuidVendors = map[string]string{
	"KVMKVMKVM":    "kvm",
	"Linux KVM Hv": "kvm", // KVM's Hyper-V emulation
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

// dmiVendors maps DMI strings (sys_vendor, product_name, board_vendor, bios_vendor)
// to VM names, in systemd-detect-virt's spirit; first match by prefix wins.
var dmiVendors = []struct{ prefix, vm string }{
	{"KVM", "kvm"}, {"OpenStack", "kvm"}, {"KubeVirt", "kvm"}, {"Alibaba Cloud", "kvm"},
	{"Amazon EC2", "amazon"}, {"QEMU", "qemu"}, {"Bochs", "qemu"},
	{"VMware", "vmware"}, {"VMW", "vmware"},
	{"innotek GmbH", "oracle"}, {"VirtualBox", "oracle"}, {"Oracle Corporation", "oracle"},
	{"Xen", "xen"}, {"Parallels", "parallels"}, {"BHYVE", "bhyve"},
	{"Hyper-V", "microsoft"}, {"Apple Virtualization", "apple"}, {"Google", "google"},
}

// dmiClouds names the cloud where DMI says so.
var dmiClouds = []struct{ prefix, cloud string }{
	{"Amazon EC2", "aws"}, {"Google", "gcp"}, {"Alibaba Cloud", "alibaba"}, {"OpenStack", "openstack"},
	{"DigitalOcean", "digitalocean"}, {"Hetzner", "hetzner"}, {"OracleCloud.com", "oci"}, {"Tencent Cloud", "tencent"},
}

// azureAssetTag is the chassis asset tag Azure VMs carry.
const azureAssetTag = "7783-7084-3265-9085-8269-3286-77"

func (p *prober) evidence(format string, args ...any) {
	p.f.Virtualization.Evidence = append(p.f.Virtualization.Evidence, fmt.Sprintf(format, args...))
}

func (p *prober) dmi(name string) string {
	s, _ := p.readString("sys/class/dmi/id/" + name)
	return s
}

func (p *prober) detect() {
	v := &p.f.Virtualization
	v.Container = p.container()
	v.VM = p.vm()
	if v.VM == "none" {
		v.Level = ptr(0)
	}
	if v.Evidence == nil {
		v.Evidence = []string{}
	}
}

// vm decides what hypervisor, if any, runs this machine, and at what depth.
func (p *prober) vm() string {
	a := p.f.Arch
	if IsIBMZ(a) {
		return p.vmIBMZ()
	}
	if IsPower(a) {
		return p.vmPower()
	}
	sysVendor, product, boardVendor, biosVendor := p.dmi("sys_vendor"), p.dmi("product_name"), p.dmi("board_vendor"), p.dmi("bios_vendor")
	p.cloud(sysVendor, product, biosVendor)

	// Xen: the control domain is a guest of Xen, though it runs like a host.
	if caps, ok := p.readString("proc/xen/capabilities"); ok && strings.Contains(caps, "control_d") {
		p.evidence("proc/xen/capabilities: control_d (Xen dom0, the control domain)")
		p.f.Virtualization.Level = ptr(1)
		return "xen"
	}

	// CPUID, from the top of the hypervisor range down: Xen and KVM with Hyper-V
	// enlightenments put a Hyper-V signature at 0x40000000 and their own above it.
	cpuidVM := ""
	for fn := uint32(0x4000FF00); ; fn -= 0x100 {
		if r, ok := p.cpu.Get(fn, 0); ok {
			sig := r.signature()
			if vm, known := cpuidVendors[sig]; known {
				p.evidence("CPUID 0x%08x: %q", fn, sig)
				cpuidVM = vm
				break
			}
		}
		if fn == 0x40000000 {
			break
		}
	}
	dmiVM, dmiWhat := "", ""
	for _, s := range []string{sysVendor, product, boardVendor, biosVendor} {
		for _, d := range dmiVendors {
			if s != "" && strings.HasPrefix(s, d.prefix) {
				dmiVM, dmiWhat = d.vm, s
				break
			}
		}
		if dmiVM != "" {
			break
		}
	}
	if dmiVM == "" && strings.HasPrefix(sysVendor, "Microsoft Corporation") && product == "Virtual Machine" {
		dmiVM, dmiWhat = "microsoft", sysVendor+" "+product
	}
	if dmiVM != "" {
		p.evidence("DMI: %q", dmiWhat)
	}
	hyperv := p.f.HypervisorBit || cpuidVM != ""
	if hyperv && cpuidVM == "" {
		p.evidence("CPUID: hypervisor bit set")
	}

	switch {
	case dmiVM == "amazon" && !hyperv && strings.HasSuffix(product, ".metal"):
		p.evidence("DMI product %q is an EC2 bare-metal instance and CPUID shows no hypervisor", product)
		return "none"
	case dmiVM == "amazon" || dmiVM == "google":
		// Cloud names win over the KVM underneath, as systemd-detect-virt reports them.
		p.guestLevel()
		return dmiVM
	case cpuidVM != "":
		p.guestLevel()
		return cpuidVM
	case dmiVM != "":
		p.guestLevel()
		return dmiVM
	}
	if IsARM(a) {
		if vm := p.vmDeviceTree(); vm != "" {
			p.guestLevel()
			return vm
		}
	}
	if t, ok := p.readString("sys/hypervisor/type"); ok && t != "" {
		p.evidence("sys/hypervisor/type: %q", t)
		p.guestLevel()
		if t == "xen" {
			return "xen"
		}
		return "vm-other"
	}
	if p.f.HypervisorBit {
		p.guestLevel()
		return "vm-other"
	}
	if len(p.cpu) == 0 && !p.root.Live() && IsX86(a) {
		p.note("no cpuid.txt in the snapshot: a hypervisor that hides from DMI would be missed")
	}
	p.evidence("no hypervisor signature, hypervisor bit or virtual DMI strings")
	return "none"
}

// guestLevel records the depth of an x86/ARM guest: 1 unless there is evidence of
// more. A guest cannot see below its own hypervisor, so more is never guessed.
func (p *prober) guestLevel() {
	if p.f.Virtualization.Container == "wsl" {
		p.f.Virtualization.Level = nil
		p.evidence("WSL2: an L1 on a physical Windows machine, the L2 of Red Hat's supported case (Windows VM on RHEL); from inside, depth cannot be known")
		return
	}
	p.f.Virtualization.Level = ptr(1)
}

func (p *prober) cloud(vals ...string) {
	if tag := p.dmi("chassis_asset_tag"); tag == azureAssetTag {
		p.f.Virtualization.Cloud = ptr("azure")
		p.evidence("DMI chassis asset tag: Azure")
		return
	} else if tag == "OracleCloud.com" {
		p.f.Virtualization.Cloud = ptr("oci")
		return
	}
	for _, v := range vals {
		for _, c := range dmiClouds {
			if v != "" && strings.HasPrefix(v, c.prefix) {
				p.f.Virtualization.Cloud = ptr(c.cloud)
				return
			}
		}
	}
}

func (p *prober) vmDeviceTree() string {
	if c, ok := p.readString("proc/device-tree/hypervisor/compatible"); ok {
		c = strings.ReplaceAll(c, "\x00", " ")
		p.evidence("device tree hypervisor: %q", c)
		switch {
		case strings.Contains(c, "linux,kvm"):
			return "kvm"
		case strings.Contains(c, "xen"):
			return "xen"
		case strings.Contains(c, "vmware"):
			return "vmware"
		}
		return "vm-other"
	}
	for _, fw := range p.root.Glob("proc/device-tree/fw-cfg*/compatible") {
		if c, ok := p.readString(fw); ok && strings.Contains(c, "qemu") {
			p.evidence("device tree %s: %q", fw, strings.TrimRight(c, "\x00"))
			return "qemu"
		}
	}
	if c, ok := p.readString("proc/device-tree/compatible"); ok && strings.Contains(c, "linux,dummy-virt") {
		// kvmtool's machine; QEMU's virt machine also has fw-cfg, seen above.
		p.evidence("device tree compatible: \"linux,dummy-virt\" without QEMU's fw-cfg (kvmtool)")
		return "kvm"
	}
	return ""
}

func (p *prober) vmPower() string {
	if c, ok := p.readString("proc/device-tree/hypervisor/compatible"); ok && strings.Contains(c, "linux,kvm") {
		p.evidence("device tree hypervisor: linux,kvm")
		p.f.Virtualization.Level = ptr(1)
		return "kvm"
	}
	ci := p.ci
	switch {
	case ci.Platform == "PowerNV":
		p.evidence("cpuinfo platform: PowerNV (bare metal, OPAL firmware)")
		return "none"
	case ci.Platform == "pSeries" && (strings.Contains(ci.Machine, "qemu") || strings.Contains(ci.PPCModel, "qemu")):
		p.evidence("cpuinfo: pSeries machine emulated by QEMU (%q)", ci.Machine)
		p.f.Virtualization.Level = ptr(1)
		return "kvm"
	case ci.Platform == "pSeries" || p.root.Exists("proc/ppc64/lparcfg"):
		p.evidence("cpuinfo platform pSeries / proc/ppc64/lparcfg: a PowerVM logical partition")
		p.f.Virtualization.Level = ptr(1)
		return "powervm"
	}
	p.evidence("no POWER platform line in cpuinfo")
	return "none"
}

// maxZVMLevels is the number of VM descriptions a SYSIB 3.2.2 (the source of
// /proc/sysinfo's VMnn blocks) can hold.
const maxZVMLevels = 8

func (p *prober) vmIBMZ() string {
	data, ok := p.read("proc/sysinfo")
	if !ok {
		p.note("no proc/sysinfo: IBM Z depth unknown")
		return "none"
	}
	si := ParseSysInfo(data)
	if si.Bad == "" && len(si.VMs) > maxZVMLevels {
		si.Bad = fmt.Sprintf("proc/sysinfo lists %d VM levels; IBM Z describes at most %d", len(si.VMs), maxZVMLevels)
	}
	if si.Bad != "" {
		p.note(si.Bad + "; depth unknown")
		return "vm-other"
	}
	if len(si.VMs) == 0 {
		if si.LPAR {
			p.evidence("proc/sysinfo: an LPAR with no VM levels (bare metal for KVM)")
		}
		return "none"
	}
	p.f.Virtualization.Level = ptr(len(si.VMs))
	for i, cp := range si.VMs {
		p.evidence("proc/sysinfo VM%02d control program: %q", i, cp)
	}
	switch cp := si.VMs[0]; {
	case strings.Contains(cp, "z/VM"):
		return "zvm"
	case strings.Contains(cp, "KVM"):
		return "kvm"
	}
	return "vm-other"
}

// container names the container this process runs in, as systemd-detect-virt does.
func (p *prober) container() string {
	// An illumos LX zone says container=zone; its kernel string is more specific.
	if v, ok := p.readString("proc/version"); ok && strings.Contains(v, "BrandZ") {
		p.evidence("proc/version: BrandZ (illumos LX zone)")
		return "illumos-lx"
	}
	if env, ok := p.read("proc/1/environ"); ok {
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, found := strings.CutPrefix(kv, "container="); found && v != "" {
				p.evidence("proc/1/environ: container=%s", v)
				return v
			}
		}
	}
	if p.root.Exists("run/.containerenv") {
		p.evidence("run/.containerenv exists")
		return "podman"
	}
	if v, ok := p.readString("run/systemd/container"); ok && v != "" {
		p.evidence("run/systemd/container: %s", v)
		return v
	}
	if p.root.Exists("proc/sys/fs/binfmt_misc/WSLInterop") || p.root.Exists("proc/sys/fs/binfmt_misc/WSLInterop-late") {
		p.evidence("proc/sys/fs/binfmt_misc/WSLInterop exists")
		return "wsl"
	}
	if rel, ok := p.readString("proc/sys/kernel/osrelease"); ok && strings.Contains(strings.ToLower(rel), "microsoft") {
		p.evidence("kernel release %q", rel)
		return "wsl"
	}
	for _, cg := range []string{"proc/1/cgroup", "proc/self/cgroup"} {
		data, ok := p.readString(cg)
		if !ok {
			continue
		}
		for _, m := range []struct{ sub, name string }{{"/docker/", "docker"}, {"/docker-", "docker"}, {"/lxc/", "lxc"}, {"/lxc.payload", "lxc"}, {"libpod", "podman"}, {"crio-", "crio"}, {"/kubepods", "container-other"}} {
			if strings.Contains(data, m.sub) {
				p.evidence("%s mentions %q", cg, strings.Trim(m.sub, "/-"))
				return m.name
			}
		}
	}
	if p.root.Exists(".dockerenv") || p.root.Exists(".dockerinit") {
		if init := p.kernelInit(); init != "" {
			p.evidence("/.dockerenv exists, but PID 1 (%s) is the kernel's own init (%s on the kernel command line): a VM whose root file system was built from a container image, not a container", init, init)
			return "none"
		}
		p.evidence("/.dockerenv exists")
		return "docker"
	}
	return "none"
}

// kernelInit returns PID 1's program when the kernel command line names it as
// init= or rdinit=: then PID 1 was started by this kernel, outside any container.
func (p *prober) kernelInit() string {
	cmdline, ok := p.readString("proc/cmdline")
	if !ok {
		return ""
	}
	argv, ok := p.read("proc/1/cmdline")
	if !ok || len(argv) == 0 {
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

package identity

import (
	"fmt"
	"strings"

	"github.com/nestvirt/nestvirt/internal/probe"
)

// Identity is decided by evidence, in the order of docs/IDENTITY.md; each step
// records what it rests on. The order matters where signals disagree: several
// hypervisors present another's CPUID signature (VirtualBox's KVM and Hyper-V
// paravirtualisation providers, Parallels and QEMU with Hyper-V enlightenments),
// or run on KVM under their own name (EC2 Nitro, Compute Engine), while DMI names
// the product. Those DMI names outrank the signature they are known to borrow.

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

// DMIFiles are read in systemd's order: the product first, so QEMU's "KVM
// Virtual Machine" is read before its sys_vendor "QEMU". chassis_asset_tag is
// read for the cloud alone.
var DMIFiles = []string{"product_name", "sys_vendor", "board_vendor", "bios_vendor", "product_version"}

// dmiWins are the products DMI names over a CPUID signature: each is known to
// present another hypervisor's signature, or to run on KVM under its own name.
var dmiWins = map[string]string{
	"oracle":    "VirtualBox's paravirtualisation providers present KVM's or Hyper-V's CPUID interface",
	"parallels": "Parallels presents Hyper-V's CPUID interface with its enlightenments",
	"amazon":    "EC2 Nitro instances run on KVM and present its signature",
	"google":    "Compute Engine runs on KVM and presents its signature",
	"xen":       "Xen HVM with viridian presents Hyper-V's CPUID interface",
}

// DMIWins says whether the product DMI names outranks a CPUID signature, and why.
func DMIWins(vm string) (why string, ok bool) {
	why, ok = dmiWins[vm]
	return why, ok
}

// dmiClouds names the cloud where DMI says so, by the strings systemd's
// detect-virt and cloud-init's ds-identify read (sys_vendor, product_name,
// bios_vendor, and the chassis asset tags of Azure and Oracle Cloud, below).
var dmiClouds = []struct{ prefix, cloud string }{
	{"Amazon EC2", "aws"}, {"Google", "gcp"}, {"Alibaba Cloud", "alibaba"}, {"OpenStack", "openstack"},
	{"DigitalOcean", "digitalocean"}, {"Hetzner", "hetzner"}, {"OracleCloud.com", "oci"}, {"Tencent Cloud", "tencent"},
}

// publicClouds are the clouds whose provider runs the L0: what the page calls
// RHEL-KVM is a host an admin runs RHEL and KVM on, and a provider's
// hypervisor is not that, KVM-based (EC2 Nitro, Compute Engine, Hetzner) or
// not (Azure's Hyper-V). One rule decides for every cloud in dmiClouds (but
// OpenStack, a Red Hat offering told apart as a platform): a guest there has
// the provider's hypervisor as its L0, in topology words: "aws" and "hyper-v"
// where the topology file has a word for it, "cloud" for the others.
var publicClouds = map[string]struct{ name, hypervisor string }{
	"aws":          {"Amazon EC2", "aws"},
	"azure":        {"Microsoft Azure", "hyper-v"},
	"gcp":          {"Google Compute Engine", "cloud"},
	"alibaba":      {"Alibaba Cloud", "cloud"},
	"digitalocean": {"DigitalOcean", "cloud"},
	"hetzner":      {"Hetzner Cloud", "cloud"},
	"oci":          {"Oracle Cloud Infrastructure", "cloud"},
	"tencent":      {"Tencent Cloud", "cloud"},
}

// CloudL0 applies the rule of publicClouds to a guest's facts: in a public
// cloud, the L0 is the provider's hypervisor. It returns the evidence line, or
// "" when the machine is not a guest in a public cloud.
func CloudL0(v *probe.Virtualization) string {
	pc, ok := publicClouds[probe.Str(v.Cloud)]
	if !ok || v.LevelMin == nil || *v.LevelMin < 1 {
		return ""
	}
	v.Hypervisor = probe.Ptr(pc.hypervisor)
	return fmt.Sprintf("DMI names the public cloud %s: the L0 is its provider's hypervisor (%s), not a RHEL-KVM host an admin runs", pc.name, pc.hypervisor)
}

// PublicCloud says whether a cloud is one whose provider runs the L0.
func PublicCloud(cloud string) bool {
	_, ok := publicClouds[cloud]
	return ok
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
//   - OpenShift Virtualization, as Red Hat ships it: manufacturer and family
//     "Red Hat", product "OpenShift Virtualization" (its operator's SMBIOS, as
//     its own test suite checks: RedHatQE/openshift-virtualization-tests,
//     smbios_defaults), "OpenShift virtualization" and, in the releases named
//     Container-native virtualization, "Container-native virtualization"
//     (RedHatQE/cnv-tests). The product decides: RHEL's own KVM also writes
//     manufacturer "Red Hat" (product "KVM"), and RHV "RHEV Hypervisor".
//   - Upstream KubeVirt: manufacturer "KubeVirt", family "KubeVirt", product
//     "None" (kubevirt/kubevirt pkg/virt-config, SmbiosConfigDefaultManufacturer
//     and its siblings).
//
// A cluster can set other strings; then DMI cannot tell, and host.yaml can.
var dmiPlatforms = []struct{ file, prefix, platform string }{
	{"product_name", "OpenStack", "openstack"},
	{"product_name", "RHEV Hypervisor", "rhv"},
	{"product_name", "oVirt Node", "rhv"},
	{"product_name", "OpenShift Virtualization", "openshift-virtualization"},
	{"product_name", "OpenShift virtualization", "openshift-virtualization"},
	{"product_name", "Container-native virtualization", "openshift-virtualization"},
	{"sys_vendor", "KubeVirt", "openshift-virtualization"},
}

// platformName is how a person names each platform.
var platformName = map[string]string{"openstack": "Red Hat OpenStack Platform (OpenStack Nova)", "rhv": "Red Hat Virtualization (oVirt)", "openshift-virtualization": "OpenShift Virtualization (KubeVirt)"}

// azureAssetTag is the chassis asset tag Azure VMs carry.
const azureAssetTag = "7783-7084-3265-9085-8269-3286-77"

// hypervisorOf maps a VM name to what runs the machine, in topology words.
var hypervisorOf = map[string]string{"none": "none", "kvm": "kvm", "vmware": "esxi", "microsoft": "hyper-v", "xen": "xen", "amazon": "aws"}

// HypervisorOf names what runs a machine, in topology words, for a VM name
// (systemd-detect-virt's); ok is false for a name with no such word.
func HypervisorOf(vm string) (h string, ok bool) {
	h, ok = hypervisorOf[vm]
	return h, ok
}

// DMI is what the firmware's SMBIOS strings say: /sys/class/dmi/id on Linux,
// the registry's BIOS key on Windows.
type DMI struct {
	State  probe.State
	Values map[string]string // by /sys/class/dmi/id file name
}

// Vendor finds the first DMI string that names a hypervisor.
func (d DMI) Vendor() (vm, what string) {
	for _, f := range DMIFiles {
		s := d.Values[f]
		for _, v := range dmiVendors {
			if s != "" && strings.HasPrefix(s, v.prefix) {
				return v.vm, s
			}
		}
	}
	if strings.HasPrefix(d.Values["sys_vendor"], "Microsoft Corporation") && d.Values["product_name"] == "Virtual Machine" {
		return "microsoft", "Microsoft Corporation Virtual Machine"
	}
	return "", ""
}

// SignatureVM finds the hypervisor signature that names the hypervisor, from the
// top of the range down: Xen and KVM with Hyper-V enlightenments put a Hyper-V
// signature at 0x40000000 and their own above it. vm is "" when none is known.
func SignatureVM(cpu probe.CPUID) (fn uint32, sig, vm string) {
	for fn := uint32(0x4000FF00); ; fn -= 0x100 {
		if r, ok := cpu.Get(fn, 0); ok {
			sig := r.Signature()
			if vm, known := probe.HypervisorSignatures[sig]; known {
				return fn, sig, vm
			}
		}
		if fn == 0x40000000 {
			return 0, "", ""
		}
	}
}

// CloudAssetTag says whether a chassis asset tag is a cloud's own (Azure's,
// Oracle Cloud's): the only tags nestvirt reads.
func CloudAssetTag(tag string) bool { return tag == azureAssetTag || tag == "OracleCloud.com" }

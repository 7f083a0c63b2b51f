// Package judge turns the facts of every source into what the policy judges, and
// collects the verdicts: the machine nestvirt runs on (check), and the VMs of a
// libvirt host, each chain starting where the host stands (vms, the guard). It is
// the one place where probe facts become policy input.
package judge

import (
	"strings"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/identity"
)

// Host is the machine as host rules see it. A fact the probe could not read is
// named in Unknown, and so are the facts derived from it.
func Host(f probe.Facts) facts.Host {
	var h facts.Host
	unknown := func(paths ...string) { h.Unknown = append(h.Unknown, paths...) }

	h.Arch, h.CPUVendor = probe.Str(f.Arch), probe.Str(f.CPUVendor)
	info := arch.Of(h.Arch, h.CPUVendor)
	h.Module, h.Flag, h.Nestable = info.Module, info.Flag, info.Nestable
	switch {
	case f.Arch == nil:
		unknown("arch", "module", "flag", "nestable")
	case f.CPUVendor == nil && arch.IsX86(h.Arch):
		unknown("module", "flag") // kvm_intel or kvm_amd, vmx or svm
	}
	if f.CPUVendor == nil {
		unknown("cpu_vendor")
	}
	if h.VirtExt = probe.Str(f.VirtExt); f.VirtExt == nil {
		unknown("virt_ext")
	}
	if f.HypervisorBit == nil {
		unknown("hypervisor_bit")
	} else {
		h.HypervisorBit = *f.HypervisorBit
	}
	if o, ok := OSOf(f.OS); ok {
		h.OS = o
	} else {
		unknown("os")
	}

	v := f.Virtualization
	if h.VM = probe.Str(v.VM); v.VM == nil {
		unknown("vm")
	}
	if h.Hypervisor = probe.Str(v.Hypervisor); v.Hypervisor == nil {
		unknown("hypervisor")
	}
	if h.Container = probe.Str(v.Container); v.Container == nil {
		unknown("container")
	}
	if v.WSL != nil {
		h.WSL = *v.WSL
	} else {
		unknown("wsl")
	}
	if h.Cloud = probe.Str(v.Cloud); v.Cloud == nil {
		unknown("cloud")
	}
	if h.Platform = probe.Str(v.Platform); v.Platform == nil {
		unknown("platform")
	}
	if v.SMBIOS == nil {
		unknown("smbios")
	} else {
		h.SMBIOS = *v.SMBIOS
	}
	if v.LevelMin == nil {
		unknown("guest", "level_min")
	} else {
		h.LevelMin, h.Guest = *v.LevelMin, *v.LevelMin >= 1
	}
	if v.LevelExact && v.Level != nil {
		h.Level = *v.Level
	} else {
		unknown("level")
	}

	k := f.KVM
	if k.Available == nil {
		unknown("kvm.available")
	} else {
		h.KVM.Available = *k.Available
	}
	switch {
	case k.Module == nil:
		unknown("kvm.module", "kvm.nested", "kvm.hpage")
	default:
		h.KVM.Module = *k.Module
		if carries := h.KVM.Module != "none" && h.KVM.Module != "kvm_pvm"; carries {
			if k.Nested == nil {
				unknown("kvm.nested")
			} else {
				h.KVM.Nested = *k.Nested
			}
			if h.KVM.Module == "kvm" && k.Hpage == nil {
				unknown("kvm.hpage")
			} else if k.Hpage != nil {
				h.KVM.Hpage = *k.Hpage
			}
		}
	}
	if k.ConfigModule != nil {
		if k.NestedNext == nil {
			unknown("kvm.nested_next", "kvm.nested_next_from")
		} else {
			h.KVM.NestedNext, h.KVM.NestedNextFrom = *k.NestedNext, probe.Str(k.NestedNextFrom)
		}
		if *k.ConfigModule == "kvm" {
			if k.HpageNext == nil {
				unknown("kvm.hpage_next")
			} else {
				h.KVM.HpageNext = *k.HpageNext
			}
		}
	}

	if f.Stated.Migration == nil {
		unknown("migration")
	} else {
		h.Migration = *f.Stated.Migration
	}
	if o, ok := statedOS(f.Stated.L0OS); ok {
		h.L0.OS = o
	} else {
		unknown("l0")
	}
	if f.Windows != nil {
		h.Windows = windowsOf(*f.Windows, unknown)
	}
	h.L0Manager = l0Manager(f)
	return h
}

// l0Manager says what defines this machine as a guest on its L0, so a remedy
// names the tool that applies there: nestvirt expose only where libvirt does.
func l0Manager(f probe.Facts) string {
	v := f.Virtualization
	str := func(p *string) string {
		if p == nil {
			return "unknown"
		}
		return *p
	}
	if v.LevelMin == nil {
		return "unknown"
	}
	if *v.LevelMin == 0 {
		return "none"
	}
	if identity.PublicCloud(str(v.Cloud)) {
		return "cloud" // the provider defines the VM, whatever its hypervisor
	}
	switch hv := str(v.Hypervisor); hv {
	case "esxi", "hyper-v", "xen":
		return hv
	case "qemu":
		return "qemu-tcg"
	case "kvm":
	case "unknown":
		return "unknown"
	default:
		return "other"
	}
	switch pl := str(v.Platform); {
	case pl == "openstack" || pl == "rhv" || pl == "openshift-virtualization":
		return pl
	case v.SMBIOS != nil && !*v.SMBIOS && arch.IsX86(probe.Str(f.Arch)):
		return "vmm" // QEMU gives every x86 guest SMBIOS; this VMM gave none
	case pl == "none" && v.SMBIOS != nil && *v.SMBIOS:
		return "libvirt"
	}
	return "unknown"
}

// windowsOf is Windows' facts as the rules see them.
func windowsOf(w probe.WindowsFacts, unknown func(...string)) facts.Windows {
	out := facts.Windows{Present: true}
	set := func(dst *bool, src *bool, path string) {
		if src == nil {
			unknown(path)
		} else {
			*dst = *src
		}
	}
	setInt := func(dst *int, src *int, path string) {
		if src == nil {
			unknown(path)
		} else {
			*dst = *src
		}
	}
	setInt(&out.Build, w.Build, "windows.build")
	setInt(&out.UBR, w.UBR, "windows.ubr")
	set(&out.Server, w.Server, "windows.server")
	set(&out.HypervisorRunning, w.HypervisorRunning, "windows.hypervisor_running")
	set(&out.Exposes, w.VirtualizationExposed, "windows.exposes")
	set(&out.HyperV, w.Features.HyperV, "windows.hyperv")
	set(&out.VMP, w.Features.VirtualMachinePlatform, "windows.vmp")
	set(&out.WSL.Installed, w.WSL.Installed, "windows.wsl.installed")
	setInt(&out.WSL.DefaultVersion, w.WSL.DefaultVersion, "windows.wsl.default_version")
	set(&out.WSL.Nested, w.WSL.NestedVirtualization, "windows.wsl.nested")
	if w.WSL.Distributions == nil {
		unknown("windows.wsl.v1", "windows.wsl.v2")
	} else {
		v1, v2, unread := 0, 0, false
		for _, d := range w.WSL.Distributions {
			switch {
			case d.Version == nil:
				unread = true
			case *d.Version == 1:
				v1++
			default:
				v2++
			}
		}
		out.WSL.V1, out.WSL.V2 = v1, v2
		if unread {
			// A distribution of unknown version could be either.
			unknown("windows.wsl.v1", "windows.wsl.v2")
		}
	}
	return out
}

// OSOf is an os-release as the rules see it. A distribution osid does not know is
// still a known OS, of its own family: "not RHEL" is decided, not unknown.
func OSOf(o *probe.OSFacts) (facts.OS, bool) {
	if o == nil {
		return facts.OS{}, false
	}
	// Windows' probe names its release by a short id nestvirt knows itself; no
	// os-release ID needs osinfo-db to be told apart from it.
	if parsed, err := osid.ParseBuiltin(o.ID); err == nil && parsed.Kind == osid.Windows {
		return facts.OSOf(parsed), true
	}
	if parsed, ok := osid.FromOSRelease(o.ID, o.Version); ok {
		return facts.OSOf(parsed), true
	}
	name := o.Name
	if name == "" {
		name = strings.TrimSpace(o.ID + " " + o.Version)
	}
	return facts.OS{ID: strings.ToLower(o.ID) + o.Version, Family: strings.ToLower(o.ID), Kind: string(osid.Linux), Version: o.Version, Name: name}, true
}

func statedOS(name *string) (facts.OS, bool) {
	if name == nil {
		return facts.OS{}, false
	}
	o, err := osid.Parse(*name)
	if err != nil {
		return facts.OS{}, false
	}
	return facts.OSOf(o), true
}

// CheckResult is the verdict on this machine; its JSON is `nestvirt check --format json`.
type CheckResult struct {
	Verdict  policy.Level     `json:"verdict"`
	Host     probe.Facts      `json:"host"`
	Findings []policy.Finding `json:"findings"`
	// CouldBe is what stating a fact nestvirt cannot read would make the
	// verdict, each judged again with the statement (Possibilities).
	CouldBe []Possibility `json:"could_be"`
}

// Check evaluates the host rules on facts, and what stating a fact that could
// not be read would make the verdict. An evaluation error (a policy file that
// did not foresee a fact) is returned with the findings that could be made.
func Check(p *policy.Policy, f probe.Facts) (CheckResult, error) {
	r, err := judgeHost(p, f)
	if err == nil {
		r.CouldBe = Possibilities(p, r)
	}
	return r, err
}

func judgeHost(p *policy.Policy, f probe.Facts) (CheckResult, error) {
	fs, err := p.JudgeHost(Host(f))
	return CheckResult{Verdict: policy.VerdictOf(fs), Host: f, Findings: fs}, err
}

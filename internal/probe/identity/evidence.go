package identity

import (
	"strings"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// File is one file as it was read: its bytes when present; absent; or unknown,
// with why.
type File struct {
	Data  []byte
	State probe.State
	Err   error
}

// Text is the file's text, trimmed, as sysfs-style files are read.
func (f File) Text() string { return strings.TrimSpace(string(f.Data)) }

// FwCfg is one of QEMU's firmware configuration nodes in the device tree.
type FwCfg struct {
	Path       string
	Compatible File
}

// Evidence is everything identity decides from, read from a Linux machine's
// files (and its CPUID) before anything is decided: Decide is a pure function
// of it. What each field is for is in docs/IDENTITY.md.
type Evidence struct {
	// What the machine's CPU facts already say.
	Arch          string // "" unknown
	CPUInfo       *probe.CPUInfo
	CPUID         probe.CPUID
	HypervisorBit *bool

	// The firmware and the hypervisor's own interfaces.
	DMI               DMI
	SMBIOSRaw         File        // sys/firmware/dmi/entries/0-0/raw (root only)
	ProcXen           probe.State // proc/xen
	XenFeatures       File        // sys/hypervisor/properties/features
	XenCapabilities   File        // proc/xen/capabilities
	SysHypervisorType File        // sys/hypervisor/type
	Clocksource       File        // the available clocksources

	// The device tree (ARM, RISC-V, POWER).
	DTHypervisor     File // proc/device-tree/hypervisor/compatible
	DTFwCfg          []FwCfg
	DTFwCfgState     probe.State
	DTCompatible     File        // proc/device-tree/compatible
	PartitionName    probe.State // proc/device-tree/ibm,partition-name
	HMCManaged       probe.State // proc/device-tree/hmc-managed?
	QEMUGraphicWidth probe.State // proc/device-tree/chosen/qemu,graphic-width
	LPARCfg          probe.State // proc/ppc64/lparcfg

	// IBM Z.
	SysInfo File // proc/sysinfo

	// Containers and WSL.
	ProcVersion      File
	OSRelease        File           // proc/sys/kernel/osrelease
	WSLInterop       [2]probe.State // binfmt_misc WSLInterop, WSLInterop-late
	ContainerManager File           // run/host/container-manager
	Environ          File           // proc/1/environ
	ContainerEnv     probe.State    // run/.containerenv
	SystemdContainer File           // run/systemd/container
	Cgroups          [2]File        // proc/1/cgroup, proc/self/cgroup
	ProcVZ, ProcBC   probe.State
	DockerEnv        probe.State // /.dockerenv
	DockerInit       probe.State // /.dockerinit
	Proc             probe.State // proc itself
	Cmdline          File        // proc/cmdline
	InitCmdline      File        // proc/1/cmdline
}

// Paths of the evidence, as notes name them.
var (
	wslInterop = [2]string{"proc/sys/fs/binfmt_misc/WSLInterop", "proc/sys/fs/binfmt_misc/WSLInterop-late"}
	cgroups    = [2]string{"proc/1/cgroup", "proc/self/cgroup"}
)

// Gather reads the evidence from root. a, ci, cpu and hvBit are what the
// machine's CPU facts already say (arch, /proc/cpuinfo, CPUID, the hypervisor
// bit). Only what the architecture's decision can use is read: IBM Z and POWER
// have sources of their own.
func Gather(root *probe.Root, a string, ci *probe.CPUInfo, cpu probe.CPUID, hvBit *bool) Evidence {
	read := func(rel string) File {
		data, st, err := root.Read(rel)
		return File{Data: data, State: st, Err: err}
	}
	exists := func(rel string) probe.State {
		st, _ := root.Exists(rel)
		return st
	}
	e := Evidence{Arch: a, CPUInfo: ci, CPUID: cpu, HypervisorBit: hvBit}
	// Containers and WSL, on every architecture.
	e.ProcVersion = read("proc/version")
	e.OSRelease = read("proc/sys/kernel/osrelease")
	for i, f := range wslInterop {
		e.WSLInterop[i] = exists(f)
	}
	e.ContainerManager = read("run/host/container-manager")
	e.Environ = read("proc/1/environ")
	e.ContainerEnv = exists("run/.containerenv")
	e.SystemdContainer = read("run/systemd/container")
	for i, f := range cgroups {
		e.Cgroups[i] = read(f)
	}
	e.ProcVZ, e.ProcBC = exists("proc/vz"), exists("proc/bc")
	e.DockerEnv, e.DockerInit, e.Proc = exists(".dockerenv"), exists(".dockerinit"), exists("proc")
	e.Cmdline, e.InitCmdline = read("proc/cmdline"), read("proc/1/cmdline")
	switch {
	case a == "":
		return e
	case arch.IsIBMZ(a):
		e.SysInfo = read("proc/sysinfo")
		return e
	case arch.IsPower(a):
		e.DTHypervisor = read("proc/device-tree/hypervisor/compatible")
		e.PartitionName = exists("proc/device-tree/ibm,partition-name")
		e.HMCManaged = exists("proc/device-tree/hmc-managed?")
		e.QEMUGraphicWidth = exists("proc/device-tree/chosen/qemu,graphic-width")
		e.LPARCfg = exists("proc/ppc64/lparcfg")
		return e
	}
	e.DMI = DMI{Values: map[string]string{}}
	e.DMI.State = exists("sys/class/dmi/id")
	if e.DMI.State == probe.Present {
		for _, f := range append(DMIFiles, "chassis_asset_tag") {
			if v := read("sys/class/dmi/id/" + f); v.State == probe.Present {
				e.DMI.Values[f] = v.Text()
			}
		}
	}
	e.SMBIOSRaw = read("sys/firmware/dmi/entries/0-0/raw")
	e.ProcXen = exists("proc/xen")
	if e.ProcXen == probe.Present {
		e.XenFeatures, e.XenCapabilities = read("sys/hypervisor/properties/features"), read("proc/xen/capabilities")
	}
	e.SysHypervisorType = read("sys/hypervisor/type")
	e.Clocksource = read("sys/devices/system/clocksource/clocksource0/available_clocksource")
	e.DTHypervisor = read("proc/device-tree/hypervisor/compatible")
	if !arch.IsX86(a) {
		paths, st := root.Glob("proc/device-tree/fw-cfg*")
		e.DTFwCfgState = st
		for _, p := range paths {
			e.DTFwCfg = append(e.DTFwCfg, FwCfg{Path: p, Compatible: read(p + "/compatible")})
		}
		e.DTCompatible = read("proc/device-tree/compatible")
	}
	return e
}

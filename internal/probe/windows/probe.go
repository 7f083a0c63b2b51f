// Package windows gathers the facts of a Windows machine: from its registry,
// WMI (one PowerShell call) and wsl.exe when live, or from a snapshot's files,
// read the same way on any system. The live source builds only for Windows;
// everything else, the snapshot reader among it, builds everywhere.
package windows

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/identity"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
)

// Source is where Windows' facts come from: the live machine (registry,
// PowerShell's CIM, wsl.exe), a snapshot's files, or a test's fakes. An absent
// key, value or file is fs.ErrNotExist.
type Source interface {
	RegValue(key, name string) (RegValue, error)
	RegSubkeys(key string) ([]string, error)
	// CIM runs the query cimScript stands for and returns its JSON.
	CIM(ctx context.Context) ([]byte, error)
	// WSLStatus is `wsl.exe --status`'s output, UTF-16 or UTF-8.
	WSLStatus(ctx context.Context) ([]byte, error)
	// WSLConfig is %UserProfile%\.wslconfig.
	WSLConfig() ([]byte, error)
	// HostConfig is nestvirt's host.yaml (%ProgramData%\nestvirt\host.yaml) and its name.
	HostConfig() ([]byte, string, error)
	// Live says whether this is the running machine (CPUID is this CPU's).
	Live() bool
}

// RegValue is a registry value: a string (REG_SZ, REG_EXPAND_SZ) or a number
// (REG_DWORD, REG_QWORD).
type RegValue struct {
	S     string
	N     uint64
	IsNum bool
}

// The registry keys check reads.
const (
	regCurrentVersion = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	regBIOS           = `HKLM\HARDWARE\DESCRIPTION\System\BIOS`
	regCPU0           = `HKLM\HARDWARE\DESCRIPTION\System\CentralProcessor\0`
	regEnvironment    = `HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment`
	regComputerName   = `HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName`
	// regCryptography holds MachineGuid, Windows' machine ID, made at setup. Like
	// /etc/machine-id it is confidential: only the ID nestvirt derives from it
	// (probe.MachineIDOf) is kept, in documents and in snapshots.
	regCryptography = `HKLM\SOFTWARE\Microsoft\Cryptography`
	regLxss         = `HKCU\Software\Microsoft\Windows\CurrentVersion\Lxss`
)

// Timeout bounds each external call (PowerShell, wsl.exe): a WSL that hangs,
// as it does while its service starts, leaves its facts unknown.
const Timeout = 15 * time.Second

// cimScript is the one PowerShell call for WMI's facts: starting PowerShell
// costs a second, so every class is asked at once.
const cimScript = `$ErrorActionPreference='Stop'
$cs = Get-CimInstance Win32_ComputerSystem
$p = Get-CimInstance Win32_Processor | Select-Object -First 1
$f = Get-CimInstance Win32_OptionalFeature -Filter "Name='Microsoft-Hyper-V' OR Name='VirtualMachinePlatform' OR Name='Microsoft-Windows-Subsystem-Linux'"
[pscustomobject]@{
  HypervisorPresent = $cs.HypervisorPresent
  VirtualizationFirmwareEnabled = $p.VirtualizationFirmwareEnabled
  VMMonitorModeExtensions = $p.VMMonitorModeExtensions
  SecondLevelAddressTranslationExtensions = $p.SecondLevelAddressTranslationExtensions
  Features = @($f | ForEach-Object { [pscustomobject]@{ Name = $_.Name; InstallState = [int]$_.InstallState } })
} | ConvertTo-Json -Compress -Depth 3`

// Probe gathers the facts of the Windows machine src describes. cpu holds
// the CPUID leaves (ReadLive on the running machine; nil when unknown). As on
// Linux, what cannot be read is unknown, with a note; the error, when not nil, is a
// *stated.Error for a host.yaml that could not be used.
func Probe(src Source, cpu probe.CPUID) (probe.Facts, error) {
	return probeWithin(src, cpu, Timeout)
}

// probeWithin is Probe with each external call bounded by timeout.
func probeWithin(src Source, cpu probe.CPUID, timeout time.Duration) (probe.Facts, error) {
	p := &prober{cpu: cpu}
	w := &probe.WindowsFacts{}
	p.f = probe.Facts{Notes: []string{}, Windows: w}
	p.f.KVM.Config = []string{}
	p.f.Virtualization.Evidence = []string{}
	p.f.Stated.From = []string{}
	wp := winProber{p: p, src: src, w: w, timeout: timeout}
	wp.run()
	p.f.Notes = append(append([]string{}, p.notes...), p.f.Notes...)
	if p.statedErr != nil {
		return p.f, p.statedErr
	}
	return p.f, nil
}

// prober holds the facts being gathered and the notes on them.
type prober struct {
	cpu       probe.CPUID // nil: not known
	f         probe.Facts
	notes     []string
	statedErr *stated.Error
}

func (p *prober) note(s string) { p.notes = append(p.notes, s) }

func (p *prober) evidence(format string, args ...any) {
	p.f.Virtualization.Evidence = append(p.f.Virtualization.Evidence, fmt.Sprintf(format, args...))
}

type winProber struct {
	p       *prober
	src     Source
	w       *probe.WindowsFacts
	timeout time.Duration
}

func (wp *winProber) note(format string, args ...any) { wp.p.note(fmt.Sprintf(format, args...)) }

// str reads a string value; notes what is unknown when it cannot be read for a
// reason other than absence, and when what is not "".
func (wp *winProber) str(key, name, what string) (string, bool) {
	v, err := wp.src.RegValue(key, name)
	switch {
	case err == nil && !v.IsNum && strings.TrimSpace(v.S) != "":
		return strings.TrimSpace(v.S), true
	case err == nil && v.IsNum:
		wp.note(`%s\%s is a number, not a string; %s unknown`, key, name, what)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		wp.note(`%s\%s: %v; %s unknown`, key, name, err, what)
	case what != "" && errors.Is(err, fs.ErrNotExist):
		wp.note(`%s\%s is not there; %s unknown`, key, name, what)
	}
	return "", false
}

// num reads a number: a DWORD, or a string holding one (CurrentBuildNumber is a
// REG_SZ).
func (wp *winProber) num(key, name, what string) (int, bool) {
	v, err := wp.src.RegValue(key, name)
	switch {
	case err == nil && v.IsNum && v.N <= 1<<31:
		return int(v.N), true
	case err == nil && !v.IsNum:
		if n, err := strconv.Atoi(strings.TrimSpace(v.S)); err == nil && n >= 0 {
			return n, true
		}
		wp.note(`%s\%s is %q, not a number; %s unknown`, key, name, v.S, what)
	case err == nil:
		wp.note(`%s\%s is out of range; %s unknown`, key, name, what)
	case !errors.Is(err, fs.ErrNotExist):
		wp.note(`%s\%s: %v; %s unknown`, key, name, err, what)
	case what != "":
		wp.note(`%s\%s is not there; %s unknown`, key, name, what)
	}
	return 0, false
}

func (wp *winProber) run() {
	p := wp.p
	if h, ok := wp.str(regComputerName, "ComputerName", ""); ok {
		p.f.Hostname = probe.Ptr(h)
	}
	if g, ok := wp.str(regCryptography, "MachineGuid", "the machine ID (MachineGuid)"); ok {
		if id, ok := probe.MachineIDOf(g); ok {
			p.f.MachineID, p.f.MachineIDFrom = probe.Ptr(id), probe.Ptr("machine-guid")
		}
	}
	wp.archAndCPU()
	wp.release()
	wp.position()
	wp.cim()
	wp.exposed()
	wp.wsl()
	// Windows has no KVM: decided, not unknown. Its hypervisor is Hyper-V's.
	p.f.KVM.Available, p.f.KVM.Device, p.f.KVM.Module = probe.Ptr(false), probe.Ptr(false), probe.Ptr("none")
	p.f.Virtualization.Container, p.f.Virtualization.WSL = probe.Ptr("none"), probe.Ptr(false)
	wp.stated()
}

func (wp *winProber) archAndCPU() {
	p := wp.p
	if a, ok := wp.str(regEnvironment, "PROCESSOR_ARCHITECTURE", ""); ok {
		p.f.Arch = probe.Ptr(arch.Normalize(strings.ToLower(a)))
	} else if wp.src.Live() {
		p.f.Arch = probe.Ptr(arch.Normalize(runtime.GOARCH))
	} else {
		p.note("PROCESSOR_ARCHITECTURE could not be read; architecture unknown")
	}
	a := probe.Deref(p.f.Arch)
	vendorID, _ := wp.str(regCPU0, "VendorIdentifier", "")
	if r, ok := p.cpu.Get(0, 0); ok && vendorID == "" {
		vendorID = r.Vendor()
	}
	switch {
	case vendorID == "GenuineIntel":
		p.f.CPUVendor = probe.Ptr("intel")
	case vendorID == "AuthenticAMD" || vendorID == "HygonGenuine":
		p.f.CPUVendor = probe.Ptr("amd")
	case a != "" && !arch.IsX86(a):
		if v := arch.Of(a, "").Vendor; v != "" {
			p.f.CPUVendor = probe.Ptr(v)
		}
	}
	if m, ok := wp.str(regCPU0, "ProcessorNameString", ""); ok {
		p.f.CPUModel = probe.Ptr(m)
	}
	if r, ok := p.cpu.Get(1, 0); ok && arch.IsX86(a) {
		p.f.HypervisorBit = probe.Ptr(r.ECX&(1<<31) != 0)
	}
	// Windows' own hypervisor: the root partition holds the CreatePartitions
	// privilege (Hyper-V TLFS, leaf 0x40000003 EBX bit 0). No guest of another
	// hypervisor has it, even one that presents Hyper-V's interface.
	if base, ok := p.cpu.Get(0x40000000, 0); ok && base.Signature() == "Microsoft Hv" {
		if r, ok := p.cpu.Get(0x40000003, 0); ok {
			wp.w.HypervisorRunning = probe.Ptr(r.EBX&1 != 0)
		}
	} else if p.f.HypervisorBit != nil {
		wp.w.HypervisorRunning = probe.Ptr(false)
	}
}

func (wp *winProber) release() {
	w := wp.w
	if s, ok := wp.str(regCurrentVersion, "ProductName", ""); ok {
		w.Product = probe.Ptr(s)
	}
	if s, ok := wp.str(regCurrentVersion, "InstallationType", ""); ok {
		w.InstallationType = probe.Ptr(s)
		w.Server = probe.Ptr(strings.HasPrefix(s, "Server"))
	} else if w.Product != nil {
		w.Server = probe.Ptr(strings.Contains(*w.Product, "Server"))
	}
	if s, ok := wp.str(regCurrentVersion, "DisplayVersion", ""); ok {
		w.DisplayVersion = probe.Ptr(s)
	} else if s, ok := wp.str(regCurrentVersion, "ReleaseId", ""); ok {
		w.DisplayVersion = probe.Ptr(s)
	}
	if n, ok := wp.num(regCurrentVersion, "CurrentBuildNumber", "the Windows build"); ok {
		w.Build = probe.Ptr(n)
	}
	if n, ok := wp.num(regCurrentVersion, "UBR", ""); ok {
		w.UBR = probe.Ptr(n)
	}
	if w.Build == nil || w.Server == nil {
		wp.note("the Windows release is unknown (CurrentBuildNumber and InstallationType are both needed)")
		return
	}
	o, err := osid.FromWindowsBuild(*w.Build, *w.Server)
	if err != nil {
		wp.note("%v; the OS is unknown", err)
		return
	}
	name := o.String()
	if w.Product != nil {
		name = *w.Product
		// Windows 11 kept Windows 10's ProductName; the build tells them apart.
		if o.ID == "win11" && strings.HasPrefix(name, "Windows 10") {
			name = "Windows 11" + strings.TrimPrefix(name, "Windows 10")
		}
	}
	wp.p.f.OS = &probe.OSFacts{ID: o.ID, Version: o.Version, Name: name}
}

// position places Windows: bare metal, a guest of which hypervisor, from CPUID
// and the firmware's SMBIOS strings (HKLM\HARDWARE\DESCRIPTION\System\BIOS).
// With Windows' own hypervisor running, CPUID describes that hypervisor, so only
// SMBIOS can say what is below.
func (wp *winProber) position() {
	p, v := wp.p, &wp.p.f.Virtualization
	d := identity.DMI{Values: map[string]string{}}
	for reg, file := range map[string]string{"SystemProductName": "product_name", "SystemManufacturer": "sys_vendor",
		"BaseBoardManufacturer": "board_vendor", "BIOSVendor": "bios_vendor", "SystemVersion": "product_version"} {
		if s, ok := wp.str(regBIOS, reg, ""); ok {
			d.Values[file] = s
		}
	}
	if len(d.Values) > 0 {
		d.State = probe.Present
	} else {
		d.State = probe.Unknown
		wp.note(`%s could not be read; the firmware's SMBIOS strings are unknown`, regBIOS)
	}
	var ev []string
	v.Cloud, ev = identity.Cloud(d)
	v.Evidence = append(v.Evidence, ev...)
	v.Platform, v.SMBIOS, ev = identity.Platform(d)
	v.Evidence = append(v.Evidence, ev...)
	dmiVM, dmiWhat := d.Vendor()
	guest := func(vm, hypervisor string) {
		v.VM, v.LevelMin = probe.Ptr(vm), probe.Ptr(1)
		if hypervisor != "" {
			v.Hypervisor = probe.Ptr(hypervisor)
		}
	}
	hvBit, root := p.f.HypervisorBit, wp.w.HypervisorRunning
	switch {
	case root != nil && *root:
		p.evidence("CPUID 0x40000003: Windows is the root partition of its own hypervisor (Hyper-V, the Virtual Machine Platform or VBS), which hides what runs below it")
		switch dmiVM {
		case "":
			if d.State == probe.Present {
				p.evidence("SMBIOS: %q names no hypervisor: bare metal", d.Values["sys_vendor"])
				v.VM, v.Hypervisor, v.Level, v.LevelMin, v.LevelExact = probe.Ptr("none"), probe.Ptr("none"), probe.Ptr(0), probe.Ptr(0), true
			}
		case "qemu":
			// QEMU's SMBIOS strings are the same with KVM and with emulation, and
			// the CPUID that would tell them apart is hidden by Windows' hypervisor.
			p.evidence("SMBIOS: %q: a QEMU guest, KVM or emulation (CPUID, which tells them apart, is Windows' hypervisor's)", dmiWhat)
			guest("qemu", "")
		default:
			p.evidence("SMBIOS: %q", dmiWhat)
			guest(dmiVM, hypervisorOf(dmiVM))
		}
	case hvBit == nil:
		p.note("CPUID could not be read; where this Windows stands is unknown")
	case !*hvBit:
		p.evidence("CPUID: hypervisor bit clear: bare metal")
		v.VM, v.Hypervisor, v.Level, v.LevelMin, v.LevelExact = probe.Ptr("none"), probe.Ptr("none"), probe.Ptr(0), probe.Ptr(0), true
	default:
		fn, sig, vm := identity.SignatureVM(p.cpu)
		if vm != "" {
			p.evidence("CPUID 0x%08x: %q", fn, sig)
		}
		if _, wins := identity.DMIWins(dmiVM); wins || (vm == "microsoft" || vm == "") && dmiVM != "" {
			p.evidence("SMBIOS: %q", dmiWhat)
			vm = dmiVM
		}
		if vm == "" {
			p.evidence("CPUID: hypervisor bit set, no known signature")
			vm = "vm-other"
		}
		h := hypervisorOf(vm)
		switch vm {
		case "qemu":
			// Emulation is proven by its signature; QEMU's SMBIOS alone does not
			// say KVM or emulation.
			h = ""
			if sig == "TCGTCGTCGTCG" {
				h = "qemu"
			}
		case "vm-other":
			h = "other"
		}
		guest(vm, h)
	}
	if v.LevelMin != nil && *v.LevelMin >= 1 && !v.LevelExact {
		v.Level = nil
	}
	if ev := identity.CloudL0(v); ev != "" {
		p.evidence("%s", ev)
	}
}

// cim reads WMI's view through PowerShell: unknown when PowerShell is not there
// or does not answer in time (Wine, Server Core without it, a broken WMI).
func (wp *winProber) cim() {
	ctx, cancel := context.WithTimeout(context.Background(), wp.timeout)
	defer cancel()
	data, err := wp.src.CIM(ctx)
	if err != nil {
		wp.note("WMI (PowerShell Get-CimInstance): %v; Hyper-V, Virtual Machine Platform and WMI's virtualization fields unknown", err)
		return
	}
	c, err := ParseCIM(data)
	if err != nil {
		wp.note("WMI (PowerShell Get-CimInstance): %v; Hyper-V, Virtual Machine Platform and WMI's virtualization fields unknown", err)
		return
	}
	wp.w.WMI = c.WMI
	wp.w.Features = c.Features
}

// exposed decides whether VT-x/AMD-V reaches this Windows. Windows' hypervisor
// cannot start without it; without that hypervisor, CPUID shows it directly.
func (wp *winProber) exposed() {
	p, w := wp.p, wp.w
	a := probe.Deref(p.f.Arch)
	switch {
	case w.HypervisorRunning != nil && *w.HypervisorRunning:
		w.VirtualizationExposed = probe.Ptr(true)
		p.note("the CPU's vmx/svm flags are hidden from Windows by its own hypervisor; that hypervisor runs, so the extension reaches this machine")
	case arch.IsX86(a):
		r1, ok1 := p.cpu.Get(1, 0)
		r81, ok81 := p.cpu.Get(0x80000001, 0)
		switch {
		case ok1 && r1.ECX&(1<<5) != 0:
			p.f.VirtExt, w.VirtualizationExposed = probe.Ptr("vmx"), probe.Ptr(true)
		case ok81 && r81.ECX&(1<<2) != 0:
			p.f.VirtExt, w.VirtualizationExposed = probe.Ptr("svm"), probe.Ptr(true)
		case ok1 && (ok81 || probe.Deref(p.f.CPUVendor) == "intel"):
			p.f.VirtExt, w.VirtualizationExposed = probe.Ptr("none"), probe.Ptr(false)
		case w.WMI.VMMonitorModeExtensions != nil:
			w.VirtualizationExposed = probe.Ptr(*w.WMI.VMMonitorModeExtensions)
		default:
			p.note("neither CPUID nor WMI says whether VT-x/AMD-V reaches this machine")
		}
	}
}

func (wp *winProber) wsl() {
	w := &wp.w.WSL
	keys, err := wp.src.RegSubkeys(regLxss)
	switch {
	case err == nil:
		w.Installed = probe.Ptr(true)
		w.Distributions = []probe.WSLDistro{}
		def, _ := wp.str(regLxss, "DefaultDistribution", "")
		for _, k := range keys {
			key := regLxss + `\` + k
			name, ok := wp.str(key, "DistributionName", "")
			if !ok {
				continue // not a distribution (AppxInstallerCache, ...)
			}
			d := probe.WSLDistro{Name: name, Default: strings.EqualFold(k, def)}
			if n, ok := wp.num(key, "Version", "the WSL version of "+name); ok && (n == 1 || n == 2) {
				d.Version = probe.Ptr(n)
			}
			w.Distributions = append(w.Distributions, d)
		}
		if n, ok := wp.num(regLxss, "DefaultVersion", ""); ok && (n == 1 || n == 2) {
			w.DefaultVersion = probe.Ptr(n)
		}
	case errors.Is(err, fs.ErrNotExist):
		w.Distributions = []probe.WSLDistro{} // no distribution was ever registered
	default:
		wp.note(`%s: %v; WSL's distributions unknown`, regLxss, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wp.timeout)
	defer cancel()
	out, err := wp.src.WSLStatus(ctx)
	switch {
	case err == nil:
		st := ParseWSLStatus(out)
		if st.DefaultVersion != nil && w.DefaultVersion == nil {
			w.DefaultVersion = st.DefaultVersion
		}
		if st.DefaultVersion != nil || st.Installed {
			w.Installed = probe.Ptr(true)
		}
	case errors.Is(err, fs.ErrNotExist) && w.Installed == nil:
		if f := wp.w.Features.WSL; f != nil {
			w.Installed = probe.Ptr(*f)
		} else {
			w.Installed = probe.Ptr(false) // no wsl.exe, no distribution
		}
	case !errors.Is(err, fs.ErrNotExist):
		wp.note("wsl.exe --status: %s", err)
	}
	if w.DefaultVersion == nil && w.Installed != nil && *w.Installed {
		wp.note("WSL's default version could not be read (neither the registry's DefaultVersion nor wsl --status says)")
	}
	wp.nested()
}

// nested reads [wsl2] nestedVirtualization: the file's value, else WSL's
// default (on from Windows 11; WSL2 offers no nesting before it).
func (wp *winProber) nested() {
	w := &wp.w.WSL
	data, err := wp.src.WSLConfig()
	if err == nil {
		v, notes := parseWSLConfig(data)
		for _, n := range notes {
			wp.note(".wslconfig: %s", n)
		}
		if v.set {
			if v.value == nil {
				wp.note(".wslconfig: [wsl2] nestedVirtualization is neither true nor false; whether WSL2 nests is unknown")
				return
			}
			w.NestedVirtualization, w.NestedVirtualizationFrom = v.value, probe.Ptr(".wslconfig line "+strconv.Itoa(v.line))
			return
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		wp.note(".wslconfig: %v; whether WSL2 nests is unknown", err)
		return
	}
	b := wp.w.Build
	if b == nil {
		wp.note("whether WSL2 nests is unknown: its default depends on the Windows build")
		return
	}
	on := *b >= 22000
	from := "WSL's default on Windows 11"
	if !on {
		from = "not offered before Windows 11"
	}
	w.NestedVirtualization, w.NestedVirtualizationFrom = probe.Ptr(on), probe.Ptr(from)
}

func (wp *winProber) stated() {
	data, name, err := wp.src.HostConfig()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		wp.note("%s: %v; stated facts (migration, L0 OS) unknown", name, err)
		return
	}
	s, err := stated.Parse(name, data)
	if err != nil {
		wp.p.statedErr = &stated.Error{Err: err}
		wp.note("%s: not used: %v", name, err)
		return
	}
	wp.p.f.Stated = s
}

// hypervisorOf is identity.HypervisorOf, "" for a name without a word.
func hypervisorOf(vm string) string {
	h, _ := identity.HypervisorOf(vm)
	return h
}

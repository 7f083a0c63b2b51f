package probe

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// CPUInfo is what /proc/cpuinfo says about the first processor.
type CPUInfo struct {
	VendorID string          // x86 vendor_id, "IBM/S390" on IBM Z
	Model    string          // model name (x86), cpu (POWER), "CPU part" (ARM)
	Flags    map[string]bool // x86 flags, s390 features, ARM Features
	Platform string          // POWER: "pSeries", "PowerNV"
	Machine  string          // POWER: machine line, "(emulated by qemu)" for KVM guests
	PPCModel string          // POWER: model line
	ARMImpl  string          // ARM: "CPU implementer"
}

// ParseCPUInfo reads /proc/cpuinfo. It reads the first processor's block and the
// machine-wide lines after it (POWER puts platform and machine at the end).
func ParseCPUInfo(data []byte) CPUInfo {
	ci := CPUInfo{Flags: map[string]bool{}}
	blocks := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "processor" {
			blocks++
		}
		first := blocks <= 1
		switch k {
		case "vendor_id":
			if ci.VendorID == "" {
				ci.VendorID = v
			}
		case "model name":
			if ci.Model == "" {
				ci.Model = v
			}
		case "cpu":
			if ci.Model == "" && !strings.HasPrefix(v, "0x") {
				ci.Model = v
			}
		case "CPU part":
			if ci.Model == "" {
				ci.Model = "part " + v
			}
		case "CPU implementer":
			if ci.ARMImpl == "" {
				ci.ARMImpl = v
			}
		case "flags", "features", "Features":
			if first || len(ci.Flags) == 0 {
				for _, f := range strings.Fields(v) {
					ci.Flags[f] = true
				}
			}
		case "platform":
			ci.Platform = v
		case "machine":
			ci.Machine = v
		case "model":
			ci.PPCModel = v
		}
	}
	return ci
}

// ParseOSRelease reads os-release(5): KEY=value lines, values optionally quoted.
func ParseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
		}
		out[k] = v
	}
	return out
}

// SysInfo is what IBM Z's /proc/sysinfo says about the levels a Linux runs in.
type SysInfo struct {
	LPAR bool
	// VMs are the virtual-machine levels, innermost first (VM00 is the level this
	// Linux runs in), each its control program ("z/VM 7.3.0", "KVM/Linux").
	VMs []string
	// Bad says why the VM levels cannot be trusted ("" when they can).
	Bad string
}

// MaxVMLevels is what VMnn can number: two digits.
const MaxVMLevels = 100

// ParseSysInfo reads /proc/sysinfo.
func ParseSysInfo(data []byte) SysInfo {
	var si SysInfo
	cps := map[int]string{}
	maxIdx := -1
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if strings.HasPrefix(k, "LPAR ") {
			si.LPAR = true
		}
		if len(k) < 5 || !strings.HasPrefix(k, "VM") || k[4] != ' ' {
			continue
		}
		idx, err := strconv.Atoi(k[2:4])
		if err != nil {
			continue
		}
		if _, seen := cps[idx]; !seen {
			cps[idx] = ""
		}
		if strings.HasSuffix(k, "Control Program") {
			cps[idx] = strings.Join(strings.Fields(v), " ")
		}
		maxIdx = max(maxIdx, idx)
	}
	if len(cps) == 0 {
		return si
	}
	if len(cps) != maxIdx+1 {
		si.Bad = "VM levels in /proc/sysinfo are not numbered VM00 to VMnn without gaps"
		return si
	}
	si.VMs = make([]string, maxIdx+1)
	for i := range si.VMs {
		si.VMs[i] = cps[i]
	}
	return si
}

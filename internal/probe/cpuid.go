package probe

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Leaf is one CPUID query: function (EAX) and subleaf (ECX).
type Leaf struct{ Fn, Sub uint32 }

// Regs are the registers a CPUID query returns.
type Regs struct{ EAX, EBX, ECX, EDX uint32 }

// CPUID is a set of CPUID answers: read live, or from a snapshot's cpuid.txt.
type CPUID map[Leaf]Regs

// Get returns a leaf's registers.
func (c CPUID) Get(fn, sub uint32) (Regs, bool) {
	r, ok := c[Leaf{fn, sub}]
	return r, ok
}

// ParseCPUIDText reads the raw format of `cpuid -r -1`:
//
//	CPU:
//	   0x40000000 0x00: eax=0x40000001 ebx=0x4b4d564b ecx=0x564b4d56 edx=0x0000004d
//
// Only the first CPU's block is kept. Lines it cannot read are returned as notes;
// they never stop the parse.
func ParseCPUIDText(data []byte) (CPUID, []string) {
	out := CPUID{}
	var notes []string
	cpus := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "CPU") && strings.HasSuffix(line, ":") {
			cpus++
			continue
		}
		if cpus > 1 {
			break // other CPUs: the first one speaks for the machine
		}
		leaf, regs, err := parseCPUIDLine(line)
		if err != nil {
			if len(notes) < 5 {
				notes = append(notes, fmt.Sprintf("cpuid.txt line %d: %v", n, err))
			}
			continue
		}
		out[leaf] = regs
	}
	if err := sc.Err(); err != nil {
		notes = append(notes, "cpuid.txt: "+err.Error())
	}
	return out, notes
}

func parseCPUIDLine(line string) (Leaf, Regs, error) {
	f := strings.Fields(line)
	if len(f) != 6 || !strings.HasSuffix(f[1], ":") {
		return Leaf{}, Regs{}, fmt.Errorf("not a CPUID line: %.60q", line)
	}
	fn, err1 := strconv.ParseUint(f[0], 0, 32)
	sub, err2 := strconv.ParseUint(strings.TrimSuffix(f[1], ":"), 0, 32)
	if err1 != nil || err2 != nil {
		return Leaf{}, Regs{}, fmt.Errorf("bad leaf numbers in %.60q", line)
	}
	var regs [4]uint32
	for i, name := range []string{"eax=", "ebx=", "ecx=", "edx="} {
		v, ok := strings.CutPrefix(f[2+i], name)
		if !ok {
			return Leaf{}, Regs{}, fmt.Errorf("expected %s in %.60q", name, line)
		}
		x, err := strconv.ParseUint(v, 0, 32)
		if err != nil {
			return Leaf{}, Regs{}, fmt.Errorf("bad register value %q", v)
		}
		regs[i] = uint32(x)
	}
	return Leaf{uint32(fn), uint32(sub)}, Regs{regs[0], regs[1], regs[2], regs[3]}, nil
}

// Text writes c in the raw format of `cpuid -r -1`, sorted by leaf.
func (c CPUID) Text() []byte {
	leaves := make([]Leaf, 0, len(c))
	for l := range c {
		leaves = append(leaves, l)
	}
	sort.Slice(leaves, func(i, j int) bool {
		if leaves[i].Fn != leaves[j].Fn {
			return leaves[i].Fn < leaves[j].Fn
		}
		return leaves[i].Sub < leaves[j].Sub
	})
	var b bytes.Buffer
	b.WriteString("CPU:\n")
	for _, l := range leaves {
		r := c[l]
		fmt.Fprintf(&b, "   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", l.Fn, l.Sub, r.EAX, r.EBX, r.ECX, r.EDX)
	}
	return b.Bytes()
}

// HypervisorSignatures maps hypervisor signatures (CPUID leaf 0x40000x00) to
// systemd-detect-virt's names.
var HypervisorSignatures = map[string]string{
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

// Signature reads the 12-byte vendor string of a hypervisor leaf (EBX, ECX, EDX).
func (r Regs) Signature() string {
	var b [12]byte
	for i, v := range []uint32{r.EBX, r.ECX, r.EDX} {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	return strings.TrimRight(string(b[:]), "\x00")
}

// Vendor reads leaf 0's vendor string (EBX, EDX, ECX): "GenuineIntel".
func (r Regs) Vendor() string { return Regs{0, r.EBX, r.EDX, r.ECX}.Signature() }

// ReadIdentity queries what identification needs: leaves 0 and 1, and the
// hypervisor range only when leaf 1 says a hypervisor is there. Inside a VM each
// CPUID traps to the hypervisor (3.7 µs here), so check does not read the leaves
// only a snapshot needs.
func ReadIdentity() CPUID {
	out := CPUID{}
	if !haveCPUID {
		return out
	}
	for _, fn := range []uint32{0, 1} {
		a, b, c, d := cpuid(fn, 0)
		out[Leaf{fn, 0}] = Regs{a, b, c, d}
	}
	if out[Leaf{1, 0}].ECX&(1<<31) == 0 {
		return out
	}
	// A hypervisor hides its own signature above 0x40000000 only when it shows a
	// Hyper-V-compatible one there (Xen with viridian, KVM with Hyper-V
	// enlightenments). Any other known signature at the base is the answer; else
	// scan the whole range, and detection reads it from the top.
	a, b, c, d := cpuid(0x40000000, 0)
	base := Regs{a, b, c, d}
	if vm, known := HypervisorSignatures[base.Signature()]; known && vm != "microsoft" {
		out[Leaf{0x40000000, 0}] = base
		return out
	}
	readHypervisorLeaves(out)
	return out
}

// readHypervisorLeaves reads every 0x100 step of 0x40000000-0x4000FF00 that answers,
// and the leaves each interface declares.
func readHypervisorLeaves(out CPUID) {
	for fn := uint32(0x40000000); fn <= 0x4000FF00; fn += 0x100 {
		a, b, c, d := cpuid(fn, 0)
		if a == 0 && b == 0 && c == 0 && d == 0 {
			continue
		}
		r := Regs{a, b, c, d}
		out[Leaf{fn, 0}] = r
		for sub := fn + 1; sub <= r.EAX && sub < fn+0x10; sub++ {
			a, b, c, d := cpuid(sub, 0)
			out[Leaf{sub, 0}] = Regs{a, b, c, d}
		}
	}
}

// ReadLive queries the running CPU: the standard, hypervisor and extended ranges,
// enough to identify the machine and to replay it from a snapshot.
func ReadLive() CPUID {
	out := CPUID{}
	if !haveCPUID {
		return out
	}
	add := func(fn uint32) Regs {
		a, b, c, d := cpuid(fn, 0)
		r := Regs{a, b, c, d}
		out[Leaf{fn, 0}] = r
		return r
	}
	maxStd := add(0).EAX
	for fn := uint32(1); fn <= maxStd && fn < 0x40; fn++ {
		add(fn)
	}
	readHypervisorLeaves(out)
	maxExt := add(0x80000000).EAX
	for fn := uint32(0x80000001); fn <= maxExt && fn < 0x80000040; fn++ {
		add(fn)
	}
	return out
}

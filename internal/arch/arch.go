// Package arch is the one table of what an architecture and CPU vendor imply for
// nested virtualization: which KVM module carries the nested parameter, which CPU
// flag carries hardware virtualization into a guest, whether Red Hat's page says
// nesting works there at all, and whether Hyper-V enlightenments apply. Every
// package that needs one of these facts reads it here.
package arch

// Info is what one architecture and vendor imply.
type Info struct {
	Arch   string // kernel arch name, normalised (s390 reads as s390x)
	Vendor string // intel, amd on x86; ibm on IBM Z and POWER; arm on ARM; "" unknown
	// Module is the KVM module whose nested parameter matters: kvm_intel, kvm_amd,
	// or kvm on IBM Z; "" where none does (or the x86 vendor is unknown).
	Module string
	// Flag is the CPU feature a guest must see to run KVM guests of its own: vmx
	// (Intel), svm (AMD), sie (IBM Z); "" where there is none to expose.
	Flag string
	// Nestable says whether nesting works at all here. RHEL 10's page: "The L0 host
	// must be an Intel, AMD, or IBM Z system. Nested virtualization currently does not
	// work on other architectures, such as ARM."
	Nestable bool
	// Hyperv says whether Hyper-V enlightenments exist (x86 only); EVMCS whether
	// enlightened VMCS does (Intel only: it requires vmx).
	Hyperv, EVMCS bool
}

// RHEL are the architectures RHEL is built for, in its spelling.
var RHEL = []string{"x86_64", "aarch64", "s390x", "ppc64le"}

// Normalize maps kernel and Go arch spellings to one name per architecture.
func Normalize(a string) string {
	switch a {
	case "s390":
		return "s390x"
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "i386", "i486", "i586":
		return "i686"
	}
	return a
}

// Of returns the table row for an arch (any spelling Normalize knows) and a CPU vendor.
func Of(arch, vendor string) Info {
	a := Normalize(arch)
	i := Info{Arch: a, Vendor: vendor}
	switch {
	case IsX86(a):
		switch vendor {
		case "intel":
			i.Module, i.Flag, i.EVMCS = "kvm_intel", "vmx", true
		case "amd":
			i.Module, i.Flag = "kvm_amd", "svm"
		}
		i.Nestable = a == "x86_64"
		i.Hyperv = true
	case a == "s390x":
		i.Vendor, i.Module, i.Flag, i.Nestable = "ibm", "kvm", "sie", true
	case IsPower(a):
		i.Vendor = "ibm"
	case IsARM(a):
		i.Vendor = "arm"
	}
	return i
}

// IsX86 reports whether a is a 32- or 64-bit x86 arch.
func IsX86(a string) bool {
	switch Normalize(a) {
	case "x86_64", "i686":
		return true
	}
	return false
}

// IsIBMZ reports whether a is IBM Z.
func IsIBMZ(a string) bool { return Normalize(a) == "s390x" }

// IsPower reports whether a is POWER.
func IsPower(a string) bool { return a == "ppc64le" || a == "ppc64" }

// IsARM reports whether a is ARM (32 or 64 bit).
func IsARM(a string) bool {
	a = Normalize(a)
	return a == "aarch64" || (len(a) >= 3 && a[:3] == "arm")
}

// NestableArches are the arches Red Hat's page lets nesting work on, for messages.
var NestableArches = []string{"x86_64", "s390x"}

package arch

import "testing"

// TestOf is the table in one place: which module, flag and support each arch
// and vendor imply, under every spelling the kernel and Go use.
func TestOf(t *testing.T) {
	tests := []struct {
		arch, vendor string
		want         Info
	}{
		{"x86_64", "intel", Info{Arch: "x86_64", Vendor: "intel", Module: "kvm_intel", Flag: "vmx", Nestable: true, Hyperv: true, EVMCS: true}},
		{"amd64", "amd", Info{Arch: "x86_64", Vendor: "amd", Module: "kvm_amd", Flag: "svm", Nestable: true, Hyperv: true}},
		// An x86 CPU of unknown vendor: nestable, but which module is unknown.
		{"x86_64", "", Info{Arch: "x86_64", Nestable: true, Hyperv: true}},
		{"i686", "intel", Info{Arch: "i686", Vendor: "intel", Module: "kvm_intel", Flag: "vmx", Hyperv: true, EVMCS: true}},
		{"s390", "", Info{Arch: "s390x", Vendor: "ibm", Module: "kvm", Flag: "sie", Nestable: true}},
		{"s390x", "ibm", Info{Arch: "s390x", Vendor: "ibm", Module: "kvm", Flag: "sie", Nestable: true}},
		{"arm64", "", Info{Arch: "aarch64", Vendor: "arm"}},
		{"armv7l", "", Info{Arch: "armv7l", Vendor: "arm"}},
		{"ppc64le", "", Info{Arch: "ppc64le", Vendor: "ibm"}},
		{"riscv64", "", Info{Arch: "riscv64"}},
		{"", "", Info{}},
	}
	for _, tt := range tests {
		if got := Of(tt.arch, tt.vendor); got != tt.want {
			t.Errorf("Of(%q, %q) = %+v, want %+v", tt.arch, tt.vendor, got, tt.want)
		}
	}
}

func TestPredicates(t *testing.T) {
	for _, tt := range []struct {
		arch                    string
		x86, ibmz, power, isARM bool
	}{
		{"x86_64", true, false, false, false}, {"amd64", true, false, false, false}, {"i386", true, false, false, false},
		{"s390", false, true, false, false}, {"ppc64", false, false, true, false}, {"aarch64", false, false, false, true},
		{"arm", false, false, false, true}, {"riscv64", false, false, false, false},
	} {
		if IsX86(tt.arch) != tt.x86 || IsIBMZ(tt.arch) != tt.ibmz || IsPower(tt.arch) != tt.power || IsARM(tt.arch) != tt.isARM {
			t.Errorf("%s: x86 %v, IBM Z %v, POWER %v, ARM %v", tt.arch, IsX86(tt.arch), IsIBMZ(tt.arch), IsPower(tt.arch), IsARM(tt.arch))
		}
	}
}

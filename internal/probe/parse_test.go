package probe

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseCPUInfoReadsEachArchitecture(t *testing.T) {
	tests := []struct {
		file, vendor, model string
		flags               []string
		platform            string
	}{
		{"intel-l0-ready", "GenuineIntel", "Intel(R) Xeon(R) Platinum 8480+", []string{"vmx", "ept"}, ""},
		{"amd-l0-nested", "AuthenticAMD", "AMD EPYC 9654 96-Core Processor", []string{"svm", "npt"}, ""},
		{"s390x-hpage", "IBM/S390", "", []string{"sie"}, ""},
		{"aarch64-l0", "", "part 0xd0c", []string{"asimd"}, ""},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join("testdata/snapshots", tt.file, "root/proc/cpuinfo"))
		if err != nil {
			t.Fatal(err)
		}
		ci := ParseCPUInfo(data)
		if ci.VendorID != tt.vendor || ci.Model != tt.model || ci.Platform != tt.platform {
			t.Errorf("%s: %+v", tt.file, ci)
		}
		for _, f := range tt.flags {
			if !ci.Flags[f] {
				t.Errorf("%s: flag %s missing", tt.file, f)
			}
		}
	}
	if ci := ParseCPUInfo([]byte("processor : 0\nflags : fpu\n\nprocessor : 1\nflags : fpu vmx\n")); ci.Flags["vmx"] {
		t.Error("flags of the second processor leaked into the first's")
	}
}

func TestParseOSRelease(t *testing.T) {
	kv := ParseOSRelease([]byte("# comment\nNAME=\"Red Hat Enterprise Linux\"\nID=rhel\nVERSION_ID='10.0'\nPRETTY_NAME=\"Say \\\"hi\\\"\"\nbroken line\n=novalue\n"))
	if kv["ID"] != "rhel" || kv["VERSION_ID"] != "10.0" || kv["NAME"] != "Red Hat Enterprise Linux" || kv["PRETTY_NAME"] != `Say "hi"` || len(kv) != 4 {
		t.Errorf("%q", kv)
	}
}

func TestParseSysInfoCountsLevelsAndRefusesNonsense(t *testing.T) {
	var many strings.Builder
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&many, "VM%02d Name: G%d\nVM%02d Control Program: KVM/Linux\n", i%100, i, i%100)
	}
	tests := []struct {
		name, text string
		levels     int
		bad        bool
	}{
		{"an LPAR", "LPAR Number: 3\nLPAR Name: X\n", 0, false},
		{"z/VM guest", "LPAR Number: 3\nVM00 Name: A\nVM00 Control Program: z/VM    7.3.0\n", 1, false},
		{"two KVM levels", "VM00 Control Program: KVM/Linux\nVM01 Control Program: KVM/Linux\n", 2, false},
		{"a gap in the numbering", "VM00 Control Program: KVM/Linux\nVM02 Control Program: KVM/Linux\n", 0, true},
		{"300 VM blocks", many.String(), 100, false}, // VMnn has two digits; the probe refuses more than 8
	}
	for _, tt := range tests {
		si := ParseSysInfo([]byte(tt.text))
		if len(si.VMs) != tt.levels || (si.Bad != "") != tt.bad {
			t.Errorf("%s: %d levels, bad %q", tt.name, len(si.VMs), si.Bad)
		}
	}
}

// TestCPUIDTextRoundTrips: what the live CPU answers (on x86; elsewhere there is
// no CPUID and nothing is read) survives cpuid.txt's text unchanged.
func TestCPUIDTextRoundTrips(t *testing.T) {
	live := ReadLive()
	if runtime.GOARCH != "amd64" {
		if len(live) != 0 {
			t.Fatalf("%d CPUID leaves on %s, which has no CPUID", len(live), runtime.GOARCH)
		}
		data, err := os.ReadFile("testdata/snapshots/amd-l0-nested/root/cpuid.txt")
		if err != nil {
			t.Fatal(err)
		}
		live, _ = ParseCPUIDText(data)
	}
	if len(live) == 0 {
		t.Fatal("no CPUID leaves read from the live CPU")
	}
	back, notes := ParseCPUIDText(live.Text())
	if len(notes) != 0 || len(back) != len(live) {
		t.Fatalf("notes %v, %d leaves back of %d", notes, len(back), len(live))
	}
	for l, r := range live {
		if back[l] != r {
			t.Errorf("leaf %#x/%d: %+v != %+v", l.Fn, l.Sub, back[l], r)
		}
	}
}

// Fuzz every parser: none may panic or hang on any input.
func FuzzParseCPUInfo(f *testing.F) {
	f.Add([]byte("processor : 0\nvendor_id : GenuineIntel\nflags : vmx ept\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseCPUInfo(b) })
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte("ID=\"rhel\"\nVERSION_ID='10.0'\n"))
	f.Fuzz(func(t *testing.T, b []byte) { ParseOSRelease(b) })
}

func FuzzParseSysInfo(f *testing.F) {
	f.Add([]byte("LPAR Number: 1\nVM00 Control Program: z/VM 7.3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		si := ParseSysInfo(b)
		if len(si.VMs) > MaxVMLevels {
			t.Fatalf("%d levels", len(si.VMs))
		}
	})
}

func FuzzParseCPUIDText(f *testing.F) {
	f.Add([]byte("CPU:\n   0x40000000 0x00: eax=0x40000001 ebx=0x4b4d564b ecx=0x564b4d56 edx=0x0000004d\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, _ := ParseCPUIDText(b)
		back, notes := ParseCPUIDText(c.Text())
		if len(notes) > 0 || len(back) != len(c) {
			t.Fatalf("round trip: %v", notes)
		}
	})
}

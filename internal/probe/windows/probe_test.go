package windows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/nestvirt/nestvirt/internal/probe"
)

func winSnapshot(t *testing.T, name string) probe.Facts {
	t.Helper()
	r, err := probe.OpenRoot(filepath.Join("../testdata/snapshots", name, "root"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := ProbeSnapshot(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func intp(p *int) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func boolp(p *bool) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// The Windows snapshots are written as Windows writes them: `reg export`
// (UTF-16LE with a BOM), the CIM query's JSON, wsl --status in UTF-16 and UTF-8.
func TestWindowsSnapshots(t *testing.T) {
	for _, c := range []struct {
		name                                     string
		os, vm, hypervisor                       string
		build, wslDefault                        string
		running, exposed, vmp, installed, nested string
		distros                                  string
		virtExt                                  string
	}{
		{"win10-l1-wsl2", "win10", "qemu", "null", "19045", "2", "true", "true", "true", "true", "false", "Ubuntu-24.04:2*", "null"},
		{"ws2019-wsl1", "win2k19", "kvm", "kvm", "17763", "1", "false", "true", "false", "true", "false", "SLES-15:1*", "vmx"},
		{"win11-not-exposed", "win11", "kvm", "kvm", "22631", "2", "false", "false", "true", "true", "true", "Ubuntu:2*", "none"},
		{"wine", "win10", "kvm", "kvm", "19045", "null", "false", "false", "null", "false", "false", "", "none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := winSnapshot(t, c.name)
			w := f.Windows
			if w == nil {
				t.Fatal("no Windows facts")
			}
			var ds []string
			for _, d := range w.WSL.Distributions {
				s := d.Name + ":" + intp(d.Version)
				if d.Default {
					s += "*"
				}
				ds = append(ds, s)
			}
			got := []string{probe.Str(&f.OS.ID), probe.Str(f.Virtualization.VM), strOrNull(f.Virtualization.Hypervisor), intp(w.Build), intp(w.WSL.DefaultVersion),
				boolp(w.HypervisorRunning), boolp(w.VirtualizationExposed), boolp(w.Features.VirtualMachinePlatform), boolp(w.WSL.Installed),
				boolp(w.WSL.NestedVirtualization), strings.Join(ds, ","), strOrNull(f.VirtExt)}
			want := []string{c.os, c.vm, c.hypervisor, c.build, c.wslDefault, c.running, c.exposed, c.vmp, c.installed, c.nested, c.distros, c.virtExt}
			names := []string{"os", "vm", "hypervisor", "build", "wsl default", "hypervisor running", "exposed", "vmp", "wsl installed", "nested", "distributions", "virt_ext"}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("%s = %s, want %s", names[i], got[i], want[i])
				}
			}
			if *f.KVM.Available || *f.KVM.Module != "none" {
				t.Error("Windows has no KVM: kvm.available must be a decided false")
			}
		})
	}
	// Windows 11 keeps Windows 10's ProductName: the name follows the build.
	if f := winSnapshot(t, "win11-not-exposed"); f.OS.Name != "Windows 11 Enterprise" {
		t.Errorf("Windows 11's name: %q", f.OS.Name)
	}
}

func strOrNull(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// fakeWindows is a Windows whose every source a test sets.
type fakeWindows struct {
	reg       *Registry
	regErr    error
	cim       []byte
	cimErr    error
	status    func(ctx context.Context) ([]byte, error)
	wslconfig []byte
	wslErr    error
}

func (f *fakeWindows) RegValue(key, name string) (RegValue, error) {
	if f.regErr != nil {
		return RegValue{}, f.regErr
	}
	return f.reg.Value(key, name)
}
func (f *fakeWindows) RegSubkeys(key string) ([]string, error) {
	if f.regErr != nil {
		return nil, f.regErr
	}
	return f.reg.Subkeys(key)
}
func (f *fakeWindows) CIM(context.Context) ([]byte, error) { return f.cim, f.cimErr }
func (f *fakeWindows) WSLStatus(ctx context.Context) ([]byte, error) {
	if f.status == nil {
		return nil, fs.ErrNotExist
	}
	return f.status(ctx)
}
func (f *fakeWindows) WSLConfig() ([]byte, error) {
	if f.wslconfig == nil && f.wslErr == nil {
		return nil, fs.ErrNotExist
	}
	return f.wslconfig, f.wslErr
}
func (f *fakeWindows) HostConfig() ([]byte, string, error) { return nil, "host.yaml", fs.ErrNotExist }
func (f *fakeWindows) Live() bool                          { return false }

func mustReg(t *testing.T, text string) *Registry {
	t.Helper()
	r, notes, err := ParseRegFile([]byte("Windows Registry Editor Version 5.00\n\n" + text))
	if err != nil || len(notes) > 0 {
		t.Fatalf("%v %s", err, notes)
	}
	return r
}

const win10Reg = `[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"CurrentBuildNumber"="19045"
"InstallationType"="Client"
"ProductName"="Windows 10 Pro"
`

// Bad input: missing keys, no WMI, a wsl.exe that hangs, junk: unknown facts
// with a note, never a crash or a hang.
func TestWindowsBadSources(t *testing.T) {
	const timeout = 200 * time.Millisecond
	hang := func(ctx context.Context) ([]byte, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("wsl.exe did not answer within %s", timeout)
	}
	start := time.Now()
	f, err := probeWithin(&fakeWindows{reg: mustReg(t, win10Reg), cimErr: errors.New("powershell.exe: file does not exist"), status: hang}, nil, timeout)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a hanging wsl.exe held check for %s", d)
	}
	notes := strings.Join(f.Notes, "\n")
	for _, want := range []string{"did not answer", "WMI (PowerShell Get-CimInstance): powershell.exe", "CPUID could not be read"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if f.Windows.Features.VirtualMachinePlatform != nil || f.Virtualization.VM != nil || f.Windows.VirtualizationExposed != nil {
		t.Error("facts without a source must be unknown")
	}

	// A registry that cannot be read at all: the release is unknown, not a guess.
	f, _ = Probe(&fakeWindows{regErr: errors.New("access denied"), cim: []byte("not json")}, nil)
	if f.OS != nil || f.Windows.Build != nil || f.Arch != nil {
		t.Errorf("facts from an unreadable registry: %+v %+v", f.OS, f.Windows.Build)
	}
	if !strings.Contains(strings.Join(f.Notes, "\n"), "not the JSON expected") {
		t.Errorf("junk from PowerShell is not noted: %v", f.Notes)
	}

	// A build that is not a number.
	f, _ = Probe(&fakeWindows{reg: mustReg(t, `[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]
"CurrentBuildNumber"="nineteen"
"InstallationType"="Client"
`)}, nil)
	if f.Windows.Build != nil || !strings.Contains(strings.Join(f.Notes, "\n"), `"nineteen", not a number`) {
		t.Errorf("a junk build: %v %v", intp(f.Windows.Build), f.Notes)
	}

	// .wslconfig with a value that is not a boolean: unknown, with the line.
	f, _ = Probe(&fakeWindows{reg: mustReg(t, win10Reg), wslconfig: []byte("[wsl2]\nnestedVirtualization=maybe\n")}, nil)
	if f.Windows.WSL.NestedVirtualization != nil {
		t.Error("nestedVirtualization=maybe read as a boolean")
	}
	f, _ = Probe(&fakeWindows{reg: mustReg(t, win10Reg), wslconfig: []byte("[WSL2]\r\nnestedvirtualization=False\r\n")}, nil)
	if boolp(f.Windows.WSL.NestedVirtualization) != "false" || probe.Str(f.Windows.WSL.NestedVirtualizationFrom) != ".wslconfig line 2" {
		t.Errorf("nestedVirtualization=False: %s from %s", boolp(f.Windows.WSL.NestedVirtualization), probe.Str(f.Windows.WSL.NestedVirtualizationFrom))
	}
}

func utf16le(s string, bom bool) []byte {
	var out []byte
	if bom {
		out = []byte{0xff, 0xfe}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func TestParseWSLStatus(t *testing.T) {
	text := "Default Distribution: Ubuntu\r\nDefault Version: 2\r\n"
	for name, in := range map[string][]byte{
		"UTF-8 (WSL_UTF8=1)": []byte(text),
		"UTF-16LE":           utf16le(text, false),
		"UTF-16LE with BOM":  utf16le(text, true),
	} {
		st := ParseWSLStatus(in)
		if st.DefaultVersion == nil || *st.DefaultVersion != 2 {
			t.Errorf("%s: default version %v", name, intp(st.DefaultVersion))
		}
	}
	// Not installed: wsl.exe prints its help.
	if st := ParseWSLStatus(utf16le("Copyright (c) Microsoft Corporation. All rights reserved.\r\n\r\nUsage: wsl.exe [Argument]\r\n", false)); st.Installed || st.DefaultVersion != nil {
		t.Errorf("the help text read as a status: %+v", st)
	}
	if st := ParseWSLStatus([]byte("Default Version: 7\n")); st.DefaultVersion != nil {
		t.Error("version 7 accepted")
	}
}

func TestParseCIM(t *testing.T) {
	// One feature: ConvertTo-Json writes an object, not an array.
	c, err := ParseCIM([]byte(`{"HypervisorPresent":true,"VirtualizationFirmwareEnabled":null,"VMMonitorModeExtensions":null,"SecondLevelAddressTranslationExtensions":null,"Features":{"Name":"VirtualMachinePlatform","InstallState":1}}`))
	if err != nil || boolp(c.Features.VirtualMachinePlatform) != "true" || c.Features.HyperV != nil || c.WMI.FirmwareEnabled != nil {
		t.Errorf("one feature: %+v %v", c, err)
	}
	// Windows PowerShell redirected to a file writes UTF-16 with a BOM.
	c, err = ParseCIM(utf16le(`{"HypervisorPresent":false,"Features":[{"Name":"Microsoft-Hyper-V","InstallState":2},{"Name":"VirtualMachinePlatform","InstallState":3}]}`, true))
	if err != nil || boolp(c.Features.HyperV) != "false" || boolp(c.Features.VirtualMachinePlatform) != "false" {
		t.Errorf("UTF-16: %+v %v", c, err)
	}
	if _, err := ParseCIM([]byte(`{"Features":"x"}`)); err == nil {
		t.Error("a string for Features accepted")
	}
}

func TestParseRegFile(t *testing.T) {
	in := `Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\SOFTWARE\Test]
"Quoted"="a \"b\" c:\\dir"
"Dword"=dword:0000479b
"Qword"=hex(b):01,00,00,00,00,00,00,00
"Expand"=hex(2):25,00,53,00,79,00,73,00,\
  74,00,65,00,6d,00,25,00,00,00
"Binary"=hex:01,02
@="default"
"Bad"=dword:xyz

[HKEY_LOCAL_MACHINE\SOFTWARE\Test\Child]
"x"="1"
[-HKEY_LOCAL_MACHINE\SOFTWARE\Gone]
`
	r, notes, err := ParseRegFile(utf16le(in, true))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"Quoted": `a "b" c:\dir`, "Expand": "%System%", "": "default"} {
		if v, err := r.Value(`hklm\software\test`, name); err != nil || v.S != want {
			t.Errorf("%s = %q %v, want %q", name, v.S, err, want)
		}
	}
	if v, _ := r.Value(`HKLM\SOFTWARE\Test`, "dword"); !v.IsNum || v.N != 0x479b {
		t.Errorf("dword %+v", v)
	}
	if v, _ := r.Value(`HKLM\SOFTWARE\Test`, "Qword"); !v.IsNum || v.N != 1 {
		t.Errorf("qword %+v", v)
	}
	if _, err := r.Value(`HKLM\SOFTWARE\Test`, "Binary"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a binary value is not read: %s", err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "line 11") {
		t.Errorf("notes %v", notes)
	}
	if sub, _ := r.Subkeys(`HKLM\SOFTWARE\Test`); len(sub) != 1 || sub[0] != "child" {
		t.Errorf("subkeys %v", sub)
	}
	if _, _, err := ParseRegFile([]byte("[HKEY_LOCAL_MACHINE\\X]\n")); err == nil {
		t.Error("a file without the header accepted")
	}
	if _, _, err := ParseRegFile(nil); err == nil {
		t.Error("an empty file accepted")
	}
}

func FuzzParseRegFile(f *testing.F) {
	for _, c := range []string{"win10-l1-wsl2", "ws2019-wsl1"} {
		data, err := os.ReadFile(filepath.Join("../testdata/snapshots", c, "root", probe.WindowsRegistry))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("REGEDIT4\n[HKLM\\A]\n\"a\"=hex(b):01,\\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, notes, err := ParseRegFile(data)
		if err == nil && r == nil {
			t.Fatal("no registry and no error")
		}
		if len(notes) > 10 {
			t.Fatalf("%d notes", len(notes))
		}
	})
}

func FuzzParseWSLConfig(f *testing.F) {
	f.Add([]byte("[wsl2]\nnestedVirtualization=true\n"))
	f.Add(utf16le("[wsl2]\r\nnestedVirtualization = false ; no\r\n", true))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, notes := parseWSLConfig(data)
		if v.value != nil && !v.set || len(notes) > 5 {
			t.Fatalf("%+v %v", v, notes)
		}
	})
}

func FuzzParseWSLStatus(f *testing.F) {
	f.Add([]byte("Default Version: 2\n"))
	f.Add(utf16le("Default Version: 1\r\n", true))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := ParseWSLStatus(data)
		if st.DefaultVersion != nil && *st.DefaultVersion != 1 && *st.DefaultVersion != 2 {
			t.Fatal(*st.DefaultVersion)
		}
	})
}

func FuzzParseCIM(f *testing.F) {
	data, _ := os.ReadFile("../testdata/snapshots/win10-l1-wsl2/root/" + probe.WindowsCIM)
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) { _, _ = ParseCIM(data) })
}

// TestWindowsSnapshotRoundTrip: what a snapshot records of a Windows machine is
// what check --root reads back, on any system; of .wslconfig only the one
// setting is kept, and registry values check did not read are not exported.
func TestWindowsSnapshotRoundTrip(t *testing.T) {
	reg := mustReg(t, win10Reg+`"RegisteredOwner"="Jane Admin"
"DigitalProductId"=hex:01,02

[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Cryptography]
"MachineGuid"="8f4c2a51-9d3e-4b7a-a1c6-0e5d7f2b9c34"

[HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Lxss]
"DefaultDistribution"="{g1}"

[HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Lxss\{g1}]
"DistributionName"="Ubuntu"
"Version"=dword:00000002
"BasePath"="C:\\Users\\jane\\AppData\\Local\\Packages\\Ubuntu"
`)
	src := &fakeWindows{reg: reg, cim: []byte(`{"HypervisorPresent":true,"Features":[{"Name":"VirtualMachinePlatform","InstallState":1}]}`),
		status:    func(context.Context) ([]byte, error) { return utf16le("Default Version: 2\r\n", true), nil },
		wslconfig: []byte("[wsl2]\nmemory=8GB\nkernelCommandLine=secret=1\nnestedVirtualization=false\n")}
	snap, err := Snapshot(src, "test", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "snap")
	if err := snap.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	r, err := probe.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	back, err := ProbeSnapshot(r)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(snap.Facts.Windows)
	got, _ := json.Marshal(back.Windows)
	if string(want) != string(got) {
		t.Errorf("replayed Windows facts differ:\n got %s\nwant %s", got, want)
	}
	if probe.Str(&back.OS.ID) != "win10" || boolp(back.Windows.WSL.NestedVirtualization) != "false" {
		t.Errorf("replay: %+v", back.OS)
	}
	regData, _ := os.ReadFile(filepath.Join(dir, probe.WindowsRegistry))
	cfg, _ := os.ReadFile(filepath.Join(dir, probe.WindowsWSLConfig))
	all := string(decodeText(regData)) + string(cfg)
	// MachineGuid is kept only as the ID derived from it, which reads back.
	if want, ok := probe.MachineIDOf("8f4c2a51-9d3e-4b7a-a1c6-0e5d7f2b9c34"); !ok || probe.Str(snap.Facts.MachineID) != want || probe.Str(back.MachineID) != want || probe.Str(back.MachineIDFrom) != "machine-guid" {
		t.Errorf("machine ID: live %v, replayed %v (from %v), want %s", probe.Str(snap.Facts.MachineID), probe.Str(back.MachineID), probe.Str(back.MachineIDFrom), want)
	}
	for _, secret := range []string{"Jane Admin", "DigitalProductId", "BasePath", "memory=8GB", "secret=1", "8f4c2a51", "8F4C2A51"} {
		if strings.Contains(all, secret) {
			t.Errorf("the snapshot copies %q", secret)
		}
	}
}

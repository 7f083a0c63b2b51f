package cli

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// These need no libvirt daemon: bad input is refused before one is asked, and an
// unreachable one is a failed dependency.

func TestLibvirtCommandsRefuseBadInput(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"vms", "-c", "http://example.com/"}, ExitInput, "not a libvirt URI"},
		{[]string{"vms", "-c", "qemu:///system?socket=/nonexistent/sock"}, ExitDependency, "/nonexistent/sock"},
		{[]string{"annotate", "x", "--runs", "vmware"}, ExitInput, `--runs: unknown value "vmware"`},
		{[]string{"annotate", "x"}, ExitInput, "--runs is required"},
		{[]string{"annotate", "x", "--runs", "none", "--l2", "rhel10.0"}, ExitInput, "--l2 needs --runs"},
		{[]string{"annotate", "x", "--runs", "kvm", "--l2", "rhel"}, ExitInput, `--l2: unknown OS "rhel"`},
		{[]string{"annotate"}, ExitInput, "takes DOMAIN"},
		{[]string{"expose"}, ExitInput, "give a DOMAIN or --file"},
		{[]string{"expose", "--file", "no/such.xml"}, ExitInput, "no/such.xml"},
		{[]string{"expose", "--file", "../domxml/testdata/plain.xml", "--vendor", "via"}, ExitInput, "--vendor"},
		{[]string{"expose", "x", "--hyperv", "maybe"}, ExitInput, "--hyperv"},
	}
	for _, tt := range tests {
		_, stderr, code := nv(t, "", tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

func TestUnexposeHelpSaysWhatUnexposeDoes(t *testing.T) {
	out, _, _ := nv(t, "", "unexpose", "--help")
	if strings.Contains(out, "refuses where this host") || !strings.Contains(out, "puts back the <cpu>") {
		t.Errorf("unexpose --help:\n%s", out)
	}
}

func TestCheckVMsWithLibvirtUnreachableStillReportsTheHost(t *testing.T) {
	out, stderr, code := nv(t, "", "check", "--vms", "-c", "qemu:///system?socket=/nonexistent/sock")
	if code != ExitDependency || !strings.Contains(out, "This machine: ") || !strings.Contains(out, "Findings") || !strings.Contains(stderr, "/nonexistent/sock") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
}

// TestEveryAnswerIsAboutOneMachine: check --vms judges the VMs of the machine it
// judges: a sosreport's own domains with --sos; with a snapshot (another
// machine, or this one at another time) it is refused, saying why; a remote
// daemon's VMs are not this machine's.
func TestEveryAnswerIsAboutOneMachine(t *testing.T) {
	_, stderr, code := nv(t, "", "check", "--vms", "--root", snapshots+"intel-l0-ready/root")
	if code != ExitInput || !strings.Contains(stderr, "--vms with --root") {
		t.Errorf("check --root --vms: exit %d %s", code, stderr)
	}
	f := recordedDaemon(t, false)
	d := dialing(func(libvirt.Options) (daemon, error) { return f, nil })
	_, stderr, code = d.nv(t, "", "check", "--vms", "-c", "qemu+ssh://other/system")
	if code != ExitInput || !strings.Contains(stderr, "another host") {
		t.Errorf("check --vms of a remote daemon: exit %d %s", code, stderr)
	}
}

func TestExposeFilePrintsTheNewXML(t *testing.T) {
	out, stderr, code := nv(t, "", "expose", "--file", "../domxml/testdata/win11-wsl2.xml", "--vendor", "intel", "--hyperv", "on")
	if code != ExitOK || !strings.Contains(out, "<feature policy='require' name='vmx'/>") || !strings.Contains(out, "<evmcs state='on'/>") || !strings.Contains(out, "<!-- a Windows 11 guest that will run WSL2 -->") {
		t.Fatalf("exit %d %s\n%s", code, stderr, out)
	}
	path := t.TempDir() + "/exposed.xml"
	os.WriteFile(path, []byte(out), 0o644)
	back, _, code := nv(t, "", "unexpose", "--file", path)
	orig, _ := os.ReadFile("../domxml/testdata/win11-wsl2.xml")
	if code != ExitOK || string(back) != string(orig) {
		t.Errorf("unexpose --file: %d\n%s", code, back)
	}
	in, _ := os.ReadFile("../domxml/testdata/plain.xml")
	out, _, code = nv(t, string(in), "expose", "--file", "-", "--vendor", "amd")
	if code != ExitOK || !strings.Contains(out, "<cpu mode='host-passthrough' check='none' migratable='on'/>") {
		t.Errorf("stdin: %d %s", code, out)
	}
	again, stderr, code := nv(t, string(in), "unexpose", "--file", "-")
	if code != ExitOK || again != string(in) || !strings.Contains(stderr, "nothing to restore") {
		t.Errorf("unexpose of a domain never exposed: %d %s", code, stderr)
	}
	masked, _, _ := nv(t, "<domain><name>x</name><devices><graphics type='vnc' passwd = \"hunter2\"/></devices><os><type arch='x86_64'>hvm</type></os></domain>", "expose", "--file", "-", "--vendor", "intel", "--dry-run")
	if strings.Contains(masked, "hunter2") {
		t.Errorf("a password with spaces around = reached the diff:\n%s", masked)
	}
}

// TestASilentLibvirtTimesOut: a daemon that accepts and never answers is a
// failed dependency within --timeout, not a hang.
func TestASilentLibvirtTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	start := time.Now()
	_, stderr, code := nv(t, "", "vms", "-c", "qemu+tcp://"+ln.Addr().String()+"/system", "--timeout", "500ms")
	if took := time.Since(start); code != ExitDependency || took > 5*time.Second || !strings.Contains(stderr, "500ms") {
		t.Errorf("exit %d after %s: %s", code, took, stderr)
	}
}

// TestExposeRefusesWithACommandThatAnswers: each refusal names what to do, and
// the command it names is one that acts on it (not check, which only reports).
func TestExposeRefusesWithACommandThatAnswers(t *testing.T) {
	tests := []struct{ snapshot, want string }{
		{"intel-l0-nesting-off", "Run 'nestvirt enable' first"},
		{"aarch64-l0", "does not work on aarch64"},
		{"pvm", "PVM (kvm_pvm)"},
		{"kvm-guest-no-vmx", "expose it on the L0 below first (nestvirt expose there)"},
	}
	for _, tt := range tests {
		f, err := inspect.HostFacts(snapshots + tt.snapshot + "/root")
		if err != nil {
			t.Fatal(err)
		}
		_, refusal := judge.Exposable(f)
		if refusal == nil || !strings.Contains(refusal.Error(), tt.want) || strings.Contains(refusal.Error(), "see nestvirt check") {
			t.Errorf("%s: %v, want %q", tt.snapshot, refusal, tt.want)
		}
	}
	f, _ := inspect.HostFacts(snapshots + "intel-l0-ready/root")
	if w, refusal := judge.Exposable(f); refusal != nil || len(w) != 0 {
		t.Errorf("a ready L0: %v %v", w, refusal)
	}
	// Through the command: a refusal is exit 1, and nothing is defined.
	r := recordedDaemon(t, true)
	d := dialing(func(libvirt.Options) (daemon, error) { return r, nil })
	_, stderr, code := d.nv(t, "", "expose", "nv-win11", "--root", snapshots+"intel-l0-nesting-off/root")
	if code != ExitFindings || !strings.Contains(stderr, "Run 'nestvirt enable' first") {
		t.Errorf("expose on a host with nesting off: exit %d %s", code, stderr)
	}
}

// TestExposeOnARemoteDaemonUsesThatHostsCPU: over a remote URI, what expose
// requires (svm or vmx) is the remote host's, read from its daemon's
// capabilities, whatever this machine is; a snapshot given with --root must be
// that host's; a daemon that does not name its CPU vendor is refused.
func TestExposeOnARemoteDaemonUsesThatHostsCPU(t *testing.T) {
	for vendor, flag := range map[string]string{"AMD": "svm", "Intel": "vmx"} {
		f := recordedDaemon(t, false).withVendor(vendor)
		d := dialing(func(libvirt.Options) (daemon, error) { return f, nil })
		out, stderr, code := d.nv(t, "", "expose", "nv-win11", "-c", "qemu+ssh://other/system")
		if code != ExitOK || !strings.Contains(out, "definition updated") || !strings.Contains(stderr, "another host: its CPU ("+strings.ToLower(vendor)+" x86_64)") {
			t.Errorf("%s: exit %d\n%s%s", vendor, code, out, stderr)
		}
		x := string(f.recs[f.find("nv-win11")].XML)
		if !strings.Contains(x, "<feature policy='require' name='"+flag+"'/>") {
			t.Errorf("%s host: the domain does not require %s:\n%s", vendor, flag, x)
		}
	}
	f := recordedDaemon(t, false) // AMD
	d := dialing(func(libvirt.Options) (daemon, error) { return f, nil })
	_, stderr, code := d.nv(t, "", "expose", "nv-win11", "-c", "qemu+ssh://other/system", "--root", snapshots+"intel-l0-ready/root")
	if code != ExitInput || !strings.Contains(stderr, "describes a host whose CPU is intel x86_64, but the daemon at qemu+ssh://other/system runs on amd x86_64") {
		t.Errorf("an Intel snapshot for an AMD daemon: exit %d %s", code, stderr)
	}
	if _, stderr, code := d.nv(t, "", "expose", "nv-win11", "-c", "qemu+ssh://other/system", "--root", snapshots+"amd-l0-nested/root"); code != ExitOK || !strings.Contains(stderr, "judged with") && !strings.Contains(stderr, "standing for the host of") {
		t.Errorf("the AMD host's own snapshot: exit %d %s", code, stderr)
	}
	f.caps = []byte(strings.Replace(string(f.caps), "<vendor>AMD</vendor>", "", 1))
	if _, stderr, code := d.nv(t, "", "expose", "nv-win11", "-c", "qemu+ssh://other/system"); code != ExitFindings || !strings.Contains(stderr, "CPU vendor is unknown") {
		t.Errorf("no vendor: exit %d %s", code, stderr)
	}
	// vms of the remote daemon judges with its CPU, not this machine's.
	f = recordedDaemon(t, false).withVendor("Intel")
	out, _, _ := d.nv(t, "", "vms", "-c", "qemu+ssh://other/system", "--format", "json", "--fail-on", "never")
	if !strings.Contains(out, `"cpu_vendor": "intel"`) || !strings.Contains(out, "another host: its CPU (intel x86_64)") {
		t.Errorf("vms of a remote daemon:\n%s", out)
	}
}

// TestVMsOfAGuestOfAnotherHypervisorNameNoKVMModule: on a host that is a guest
// of another hypervisor (VMware here), the L0 below is not a KVM host, so no
// finding speaks of its KVM module (nesting off in kvm_amd, reloading it) or of
// KVM's AMD migration: the chains say the L0 runs another hypervisor.
func TestVMsOfAGuestOfAnotherHypervisorNameNoKVMModule(t *testing.T) {
	r := recordedDaemon(t, true)
	d := dialing(func(libvirt.Options) (daemon, error) { return r, nil })
	for _, snap := range []string{"rhel-on-vmware", "amd-on-bhyve", "wsl2"} {
		out, stderr, _ := d.nv(t, "", "vms", "--root", snapshots+snap+"/root", "--format", "json", "--fail-on", "never")
		if !strings.Contains(out, `"rule": "non-kvm-l0"`) {
			t.Errorf("%s: the chains do not say the L0 runs another hypervisor: %s\n%s", snap, stderr, out)
		}
		for _, rule := range []string{"l0-nesting-off", "amd-migration", "s390x-hugepages"} {
			if strings.Contains(out, `"rule": "`+rule+`"`) {
				t.Errorf("%s: %s is reported for an L0 that is not a KVM host", snap, rule)
			}
		}
	}
}

// TestExposeOfAFileUsesTheRootsCPU: expose --file --root SNAP decides the flag
// (vmx or svm) from the snapshot's CPU, not from the machine it runs on.
func TestExposeOfAFileUsesTheRootsCPU(t *testing.T) {
	for snap, flag := range map[string]string{"intel-l0-ready": "vmx", "amd-l0-nested": "svm"} {
		out, stderr, code := nv(t, "", "expose", "--file", "../domxml/testdata/win11-wsl2.xml", "--root", snapshots+snap+"/root")
		if code != ExitOK || !strings.Contains(out, "name='"+flag+"'") {
			t.Errorf("%s: exit %d %s\n%s", snap, code, stderr, out)
		}
	}
	if _, stderr, code := nv(t, "", "expose", "--file", "../domxml/testdata/plain.xml", "--root", t.TempDir()); code != ExitInput || !strings.Contains(stderr, "not a snapshot") {
		t.Errorf("a --root that is no snapshot: exit %d %s", code, stderr)
	}
}

package libvirt

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// These tests need a real libvirtd (scripts/libvirtd.sh starts one; scripts/test.sh
// and CI run it first). Without it they fail: a missing daemon is a broken setup,
// not a reason to skip.

func connect(t *testing.T, uri string) *Conn {
	t.Helper()
	c, err := Connect(uri, false)
	if err != nil {
		t.Fatalf("these tests need a running libvirtd (bash scripts/libvirtd.sh): %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func virsh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// define defines a testdata domain under a unique name and undefines it after.
func define(t *testing.T, c *Conn, file string) string {
	t.Helper()
	raw := read(t, file)
	name := fmt.Sprintf("nvtest-%d-%s", os.Getpid(), strings.TrimSuffix(file, ".xml"))
	old := raw[strings.Index(raw, "<name>")+6 : strings.Index(raw, "</name>")]
	raw = strings.Replace(raw, "<name>"+old+"</name>", "<name>"+name+"</name>", 1)
	if err := c.Define(raw); err != nil {
		t.Fatalf("define %s: %v", file, err)
	}
	t.Cleanup(func() {
		exec.Command("virsh", "-c", "qemu:///system", "destroy", name).Run()
		exec.Command("virsh", "-c", "qemu:///system", "undefine", name).Run()
	})
	return name
}

func amdHost(t *testing.T) probe.Facts {
	return probe.ProbeRoot(probe.NewRoot("../probe/testdata/snapshots/amd-l0-nested/root"))
}

func find(t *testing.T, a Audit, name string) VMResult {
	t.Helper()
	for _, v := range a.VMs {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("%s not in the audit", name)
	return VMResult{}
}

func TestIntegrationAuditAnnotateExposeUnexpose(t *testing.T) {
	c := connect(t, "qemu:///system")
	win := define(t, c, "win11-wsl2.xml")
	lab := define(t, c, "rhel-lab.xml")
	p := policy.Default()
	host := amdHost(t)

	if _, err := c.Annotate(win, "wsl2", []string{"ubuntu24.04"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Annotate(lab, "kvm", []string{"rhel10.0", "rhel9.5"}, ""); err != nil {
		t.Fatal(err)
	}
	if x := virsh(t, "dumpxml", "--inactive", win); !strings.Contains(x, "<nestvirt:runs>wsl2</nestvirt:runs>") || !strings.Contains(x, "<nestvirt:l2>ubuntu24.04</nestvirt:l2>") {
		t.Fatalf("annotation not in the definition:\n%s", x)
	}

	a, err := AuditAll(c, p, host, 4)
	if err != nil {
		t.Fatal(err)
	}
	w := find(t, a, win)
	if w.Exposes == nil || *w.Exposes || w.OS == nil || *w.OS != "win11" || w.Verdict != policy.DoesNotWork || w.State != "shutoff" {
		t.Errorf("before expose: %+v", w)
	}
	l := find(t, a, lab)
	if l.Exposes == nil || !*l.Exposes || !l.Huge || len(l.Chains) != 2 || l.Chains[0].Verdict != policy.TechPreview || l.Chains[1].Verdict != policy.Unsupported {
		t.Errorf("lab: %+v", l)
	}

	before := virsh(t, "dumpxml", "--inactive", "--security-info", win)
	ch, err := c.Expose(win, domxml.ExposeOptions{Vendor: "amd", Hyperv: true}, false)
	if err != nil || !ch.Changed {
		t.Fatalf("expose: %v %+v", err, ch)
	}
	if strings.Contains(string(ch.Before)+string(ch.After), "s3cr3tpw") {
		t.Error("a VNC password reached the diff")
	}
	after := virsh(t, "dumpxml", "--inactive", "--security-info", win)
	for _, want := range []string{"<feature policy='require' name='svm'/>", "<hyperv mode='custom'>", "<synic state='on'/>", "passwd='s3cr3tpw'", "<libosinfo:os id=\"http://microsoft.com/win/11\"/>", "nestvirt:original-cpu"} {
		if !strings.Contains(after, want) {
			t.Errorf("after expose, the definition lacks %s:\n%s", want, after)
		}
	}
	if strings.Contains(after, "evmcs") {
		t.Error("enlightened VMCS on an AMD host")
	}
	a, _ = AuditAll(c, p, host, 4)
	if w := find(t, a, win); w.Exposes == nil || !*w.Exposes || w.Verdict != policy.Supported {
		t.Errorf("after expose: %+v", w)
	}

	if _, err := c.Unexpose(win, false); err != nil {
		t.Fatal(err)
	}
	restored := virsh(t, "dumpxml", "--inactive", "--security-info", win)
	if squash(restored) != squash(before) {
		t.Errorf("unexpose did not restore the definition:\nbefore:\n%s\nafter:\n%s", before, restored)
	}
	if _, err := c.Unexpose(win, false); err == nil || !strings.Contains(err.Error(), "no record") {
		t.Errorf("second unexpose: %v", err)
	}
}

// squash removes blank space between tags: libvirt re-indents nestvirt's element.
func squash(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}

func TestIntegrationRunningDomainKeepsRunning(t *testing.T) {
	c := connect(t, "qemu:///system")
	name := define(t, c, "plain.xml")
	virsh(t, "start", name)
	ch, err := c.Expose(name, domxml.ExposeOptions{Vendor: "intel"}, false)
	if err != nil || !ch.Changed || !ch.Active {
		t.Fatalf("expose running: %v %+v", err, ch)
	}
	if st := strings.TrimSpace(virsh(t, "domstate", name)); st != "running" {
		t.Errorf("state after expose: %s", st)
	}
	// Starting the domain gave its definition a CPU model, so expose requires vmx on
	// that model; the live domain keeps the CPU it started with.
	if live := virsh(t, "dumpxml", name); strings.Contains(live, "name='vmx'") {
		t.Error("the live definition changed; only the persistent one should")
	}
	if inactive := virsh(t, "dumpxml", "--inactive", name); !strings.Contains(inactive, "<feature policy='require' name='vmx'/>") {
		t.Errorf("the persistent definition did not change:\n%s", inactive)
	}
}

func TestIntegrationTestDriverAndVanishedDomains(t *testing.T) {
	c := connect(t, "test:///default")
	a, err := AuditAll(c, policy.Default(), amdHost(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if v := find(t, a, "test"); v.State != "running" || v.Error != "" {
		t.Errorf("test driver domain: %+v", v)
	}

	q := connect(t, "qemu:///system")
	name := define(t, q, "plain.xml")
	d, err := q.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	virsh(t, "undefine", name)
	r, err := auditOne(q, policy.Default(), d, policy.L0{Name: "host"}, HostCPU{}, nil)
	if err != nil || !strings.Contains(r.Error, "vanished") {
		t.Errorf("vanished domain: %v %+v", err, r)
	}
	if _, err := q.Lookup(name); err == nil || !strings.Contains(err.Error(), "no domain named") {
		t.Errorf("lookup of a vanished domain: %v", err)
	}
}

func TestIntegrationADaemonThatHangsUpIsAClearError(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fake-libvirt-sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close() // dies at once, as a crashing daemon would
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := Connect("qemu:///system?socket="+sock, false)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), sock) {
			t.Errorf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connect hung on a daemon that hung up")
	}
}

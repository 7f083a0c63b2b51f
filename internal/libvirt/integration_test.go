//go:build integration

package libvirt

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt/libvirttest"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/machine"
)

// These tests need a real libvirtd (scripts/libvirtd.sh starts one; scripts/test.sh
// and CI run them with -tags integration). Without it they fail: a missing daemon
// is a broken setup, not a reason to skip.

func connect(t *testing.T, uri string) *Conn {
	t.Helper()
	c, err := Connect(Options{URI: uri})
	if err != nil {
		t.Fatalf("these tests need a running libvirtd (bash scripts/libvirtd.sh): %s", err)
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

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../domxml/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// define defines a testdata domain under a unique name and undefines it after.
func define(t *testing.T, c *Conn, file string) string {
	t.Helper()
	return defineNamed(t, c, file, strings.TrimSuffix(file, ".xml"))
}

// defineNamed defines a testdata file's domain under a name of its own.
func defineNamed(t *testing.T, c *Conn, file, suffix string) string {
	t.Helper()
	name := fmt.Sprintf("nvtest-%d-%s", os.Getpid(), suffix)
	raw, err := libvirttest.Prepare(read(t, file), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Define(raw); err != nil {
		t.Fatalf("define %s: %v", file, err)
	}
	t.Cleanup(func() {
		exec.Command("virsh", "-c", "qemu:///system", "destroy", name).Run()
		exec.Command("virsh", "-c", "qemu:///system", "undefine", name).Run()
		os.Remove("/var/log/libvirt/qemu/" + name + ".log")
	})
	return name
}

func facts(t *testing.T, snapshot string) probe.Facts {
	t.Helper()
	r, err := probe.OpenRoot("../probe/testdata/snapshots/" + snapshot + "/root")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := machine.Probe(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func audit(t *testing.T, c *Conn, host probe.Facts) judge.Audit {
	t.Helper()
	recs, err := c.ReadAll(4)
	if err != nil {
		t.Fatal(err)
	}
	return judge.VMs(policy.Default(), host, recs, c.HostModel())
}

func find(t *testing.T, a judge.Audit, name string) judge.VMResult {
	t.Helper()
	for _, v := range a.VMs {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("%s not in the audit", name)
	return judge.VMResult{}
}

func expose(c *Conn, name, vendor string, hyperv bool) (Change, error) {
	return c.Edit(name, EditOptions{}, func(raw []byte) (domxml.Result, error) {
		return domxml.Expose(raw, domxml.ExposeOptions{Vendor: vendor, Hyperv: hyperv})
	})
}

func TestIntegrationAuditAnnotateExposeUnexpose(t *testing.T) {
	c := connect(t, "qemu:///system")
	win := define(t, c, "win11-wsl2.xml")
	lab := define(t, c, "rhel-lab.xml")
	host := facts(t, "amd-l0-nested")
	host.Stated.Migration = new(bool) // this host does not migrate: the AMD limitation does not bite

	if _, err := c.Annotate(win, "wsl2", []string{"ubuntu24.04"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Annotate(lab, "kvm", []string{"rhel10.0", "rhel9.5"}, ""); err != nil {
		t.Fatal(err)
	}
	if x := virsh(t, "dumpxml", "--inactive", win); !strings.Contains(x, "<nestvirt:runs>wsl2</nestvirt:runs>") || !strings.Contains(x, "<nestvirt:l2>ubuntu24.04</nestvirt:l2>") {
		t.Fatalf("annotation not in the definition:\n%s", x)
	}

	// Where the daemon has no KVM the test domains are QEMU's emulation: this
	// host is then a non-KVM L0, and the chains are untested rather than placed.
	onKVM := domainType(t) == "kvm"
	placed := func(onKVMLevel policy.Level) policy.Level {
		if onKVM {
			return onKVMLevel
		}
		return policy.Untested
	}
	a := audit(t, c, host)
	w := find(t, a, win)
	if w.Exposes == nil || *w.Exposes || w.OS == nil || *w.OS != "win11" || w.Verdict != policy.DoesNotWork || w.State != "shutoff" {
		t.Errorf("before expose: %+v", w)
	}
	l := find(t, a, lab)
	if l.Exposes == nil || !*l.Exposes || !l.Huge || len(l.Chains) != 2 || l.Chains[0].Verdict != placed(policy.TechPreview) || l.Chains[1].Verdict != placed(policy.Unsupported) {
		t.Errorf("lab: %+v", l)
	}
	if !onKVM && !hasRule(l.Chains[0], "non-kvm-l0") {
		t.Errorf("a QEMU-emulated lab VM is not judged as on a non-KVM L0: %+v", l.Chains[0])
	}

	before := virsh(t, "dumpxml", "--inactive", "--security-info", win)
	ch, err := expose(c, win, "amd", true)
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
	if w := find(t, audit(t, c, host), win); w.Exposes == nil || !*w.Exposes || w.Verdict != placed(policy.Supported) {
		t.Errorf("after expose: %+v", w)
	}

	if _, err := c.Edit(win, EditOptions{}, domxml.Unexpose); err != nil {
		t.Fatal(err)
	}
	restored := virsh(t, "dumpxml", "--inactive", "--security-info", win)
	if squash(restored) != squash(before) {
		t.Errorf("unexpose did not restore the definition:\nbefore:\n%s\nafter:\n%s", before, restored)
	}
	if ch, err := c.Edit(win, EditOptions{}, domxml.Unexpose); err != nil || ch.Changed {
		t.Errorf("a second unexpose: %v %+v, want nothing to change", err, ch)
	}
}

// domainType is the type test domains have on this daemon (package libvirttest).
func domainType(t *testing.T) string {
	t.Helper()
	ty, err := libvirttest.Type()
	if err != nil {
		t.Fatal(err)
	}
	return ty
}

func hasRule(ch policy.ChainResult, rule string) bool {
	for _, f := range ch.Findings {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// squash removes blank space between tags: libvirt re-indents nestvirt's element.
func squash(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		b.WriteString(strings.TrimSpace(line))
	}
	return b.String()
}

func TestIntegrationVMsOfAnL1HostAreL2s(t *testing.T) {
	c := connect(t, "qemu:///system")
	lab := define(t, c, "rhel-lab.xml")
	if _, err := c.Annotate(lab, "kvm", []string{"rhel10.0"}, ""); err != nil {
		t.Fatal(err)
	}
	plain := define(t, c, "plain.xml")
	host := facts(t, "rhel96-l1-on-kvm")
	a := audit(t, c, host)
	l := find(t, a, lab)
	if len(l.Chains) != 1 || len(l.Chains[0].Path) != 4 || l.Chains[0].Path[0] != judge.UnseenL0 || l.Chains[0].Verdict != policy.NotExpectedToWork {
		t.Errorf("the lab VM's guest is an L3 under an L1 host: %+v", l.Chains)
	}
	p := find(t, a, plain)
	if p.Verdict == policy.Supported || len(p.Chains[0].Path) != 3 {
		t.Errorf("a plain VM of an L1 host is an L2, not a supported L1: %+v", p.Chains)
	}
}

func TestIntegrationRunningDomainKeepsRunning(t *testing.T) {
	c := connect(t, "qemu:///system")
	name := define(t, c, "plain.xml")
	virsh(t, "start", name)
	ch, err := expose(c, name, "intel", false)
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

func TestIntegrationATransientDomainIsNotMadePersistent(t *testing.T) {
	c := connect(t, "qemu:///system")
	name := fmt.Sprintf("nvtest-%d-transient", os.Getpid())
	raw, err := libvirttest.Prepare(read(t, "plain.xml"), name)
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/t.xml"
	os.WriteFile(file, []byte(raw), 0o644)
	virsh(t, "create", file)
	t.Cleanup(func() {
		exec.Command("virsh", "-c", "qemu:///system", "destroy", name).Run()
		exec.Command("virsh", "-c", "qemu:///system", "undefine", name).Run()
		os.Remove("/var/log/libvirt/qemu/" + name + ".log")
	})
	if _, err := expose(c, name, "intel", false); !errors.Is(err, ErrTransient) {
		t.Fatalf("expose of a transient domain: %s", err)
	}
	if out := virsh(t, "dominfo", name); !strings.Contains(out, "Persistent:     no") {
		t.Errorf("the domain became persistent:\n%s", out)
	}
	if _, err := c.Edit(name, EditOptions{Persist: true}, func(raw []byte) (domxml.Result, error) {
		return domxml.Expose(raw, domxml.ExposeOptions{Vendor: "intel"})
	}); err != nil {
		t.Fatalf("with --persist: %s", err)
	}
	if out := virsh(t, "dominfo", name); !strings.Contains(out, "Persistent:     yes") {
		t.Errorf("--persist did not make it persistent:\n%s", out)
	}
}

// TestIntegrationAConcurrentEditIsNeverReverted runs `virsh desc --config` edits
// while expose and unexpose redefine the domain: before, a redefinition from XML
// read earlier reverted some of them. Each expose or unexpose must leave the
// description at least as new as the last edit finished before it started.
func TestIntegrationAConcurrentEditIsNeverReverted(t *testing.T) {
	c := connect(t, "qemu:///system")
	name := define(t, c, "plain.xml")
	var done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := exec.Command("virsh", "-c", "qemu:///system", "desc", name, "--config", "--new-desc", fmt.Sprintf("edit-%d", i)).Run(); err == nil {
				done.Store(i)
			}
		}
	}()
	descRe := regexp.MustCompile(`<description>edit-(\d+)</description>`)
	reverted, refused := 0, 0
	for k := 0; k < 40; k++ {
		before := done.Load()
		var err error
		if k%2 == 0 {
			_, err = expose(c, name, "intel", false)
		} else {
			_, err = c.Edit(name, EditOptions{}, domxml.Unexpose)
		}
		if errors.Is(err, ErrConcurrent) {
			refused++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		x, _ := exec.Command("virsh", "-c", "qemu:///system", "dumpxml", "--inactive", name).Output()
		if m := descRe.FindSubmatch(x); m != nil {
			if n, _ := strconv.ParseInt(string(m[1]), 10, 64); n < before {
				reverted++
			}
		}
	}
	close(stop)
	wg.Wait()
	if reverted > 0 {
		t.Errorf("%d concurrent edits reverted", reverted)
	}
	t.Logf("40 edits alongside %d virsh desc edits: none reverted, %d refused as concurrent", done.Load(), refused)
}

func TestIntegrationTestDriverAndVanishedDomains(t *testing.T) {
	c := connect(t, "test:///default")
	if v := find(t, audit(t, c, facts(t, "amd-l0-nested")), "test"); v.State != "running" || v.Error != "" {
		t.Errorf("test driver domain: %+v", v)
	}

	q := connect(t, "qemu:///system")
	name := define(t, q, "plain.xml")
	d, err := q.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	virsh(t, "undefine", name)
	r, err := q.read(d)
	if err != nil || r.Err == nil || !strings.Contains(r.Err.Error(), "vanished") {
		t.Errorf("vanished domain: %v %+v", err, r)
	}
	if _, err := q.Lookup(name); !errors.Is(err, ErrNoDomain) {
		t.Errorf("lookup of a vanished domain: %s", err)
	}
}

// A running domain without a guest agent: the agent is asked, says nothing, and
// the audit goes on with the declared OS; a read-only connection is refused by
// libvirt and says so. A domain that is not running is not asked.
func TestIntegrationGuestAgentAbsent(t *testing.T) {
	c := connect(t, "qemu:///system")
	running := define(t, c, "plain.xml")
	virsh(t, "start", running)
	t.Cleanup(func() { exec.Command("virsh", "-c", "qemu:///system", "destroy", running).Run() })
	off := define(t, c, "rhel-lab.xml")
	recs, err := c.ReadAll(4)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.AskAgents(recs, 4)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("asking absent agents took %s", d)
	}
	for _, r := range recs {
		switch r.Name {
		case running:
			if r.Agent != nil || !strings.Contains(strings.ToLower(r.AgentErr), "agent") {
				t.Errorf("%s: agent %+v, error %q", r.Name, r.Agent, r.AgentErr)
			}
		case off:
			if r.Agent != nil || r.AgentErr != "" {
				t.Errorf("a domain that is not running was asked: %q", r.AgentErr)
			}
		}
	}
	ro, err := Connect(Options{URI: "qemu:///system", ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.GuestOS(running); err == nil || !strings.Contains(err.Error(), "read only") {
		t.Errorf("read-only GuestOS: %s", err)
	}
	a := judge.VMs(policy.Default(), facts(t, "intel-l0-ready"), recs, c.HostModel())
	if v := find(t, a, running); v.Error != "" || !strings.HasPrefix(v.OSNote, "declared OS only") {
		t.Errorf("the audit of a VM without an agent: error %q, note %q", v.Error, v.OSNote)
	}
}

// TestIntegrationNoConcurrentMetadataEditIsLost: three loops of expose and
// unexpose against five loops of virsh metadata --config on the same domain,
// 200 metadata edits in all: every edit is in the definition at the end, or
// the expose that could have overwritten it said so (an error, never a quiet
// success).
func TestIntegrationNoConcurrentMetadataEditIsLost(t *testing.T) {
	c := connect(t, "qemu:///system")
	name := define(t, c, "plain.xml")
	const writers, each = 5, 40
	var wg sync.WaitGroup
	var stop atomic.Bool
	var reported, overwritten, edits atomic.Int64
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			conn, err := Connect(Options{URI: "qemu:///system"})
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			for i := 0; !stop.Load(); i++ {
				var err error
				var ch Change
				if i%2 == 0 {
					ch, err = expose(conn, name, "amd", false)
				} else {
					ch, err = conn.Edit(name, EditOptions{}, domxml.Unexpose)
				}
				for _, n := range ch.Notes {
					if strings.Contains(n, "not known") {
						t.Errorf("edit %d: %s", i, n)
					}
				}
				edits.Add(1)
				if err != nil {
					var ow *OverwrittenError
					switch {
					case errors.As(err, &ow):
						overwritten.Add(1)
					case errors.Is(err, ErrConcurrent):
						reported.Add(1)
					default:
						t.Errorf("edit: %s", err)
						return
					}
				}
			}
		}(w)
	}
	var vw sync.WaitGroup
	for w := 0; w < writers; w++ {
		vw.Add(1)
		go func(w int) {
			defer vw.Done()
			for i := 0; i < each; i++ {
				uri := fmt.Sprintf("https://example.com/nvtest/%d/%d", w, i)
				out, err := exec.Command("virsh", "-c", "qemu:///system", "metadata", name, "--config", "--uri", uri, "--key", fmt.Sprintf("k%d", w), "--set", fmt.Sprintf("<e w='%d' i='%d'/>", w, i)).CombinedOutput()
				if err != nil {
					t.Errorf("virsh metadata: %v %s", err, out)
				}
			}
		}(w)
	}
	vw.Wait()
	stop.Store(true)
	wg.Wait()
	x := virsh(t, "dumpxml", "--inactive", name)
	kept := strings.Count(x, "https://example.com/nvtest/")
	lost := writers*each - kept
	t.Logf("%d expose/unexpose edits: %d redone until they gave up (nothing defined), %d defined over a change and said so; %d of %d metadata edits kept", edits.Load(), reported.Load(), overwritten.Load(), kept, writers*each)
	// libvirt cannot define only if unchanged: an edit can replace a change
	// that lands between its last read and its define. None may do so quietly:
	// each such definition reports it (one report covers at most one change
	// per concurrent writer).
	if lost > int(overwritten.Load())*writers {
		t.Errorf("%d metadata edits lost, and only %d definitions said they overwrote a change", lost, overwritten.Load())
	}
}

// TestIntegrationListedStatesAreEachDomainsOwn: the states ReadAll takes from one
// listing call (virConnectGetAllDomainStats) are those libvirt gives each domain
// asked alone (virDomainGetState), running, paused and shut off; the test driver
// answers too.
func TestIntegrationListedStatesAreEachDomainsOwn(t *testing.T) {
	c := connect(t, "qemu:///system")
	off := defineNamed(t, c, "plain.xml", "off")
	running := defineNamed(t, c, "plain.xml", "running")
	paused := defineNamed(t, c, "plain.xml", "paused")
	virsh(t, "start", running)
	virsh(t, "start", paused)
	virsh(t, "suspend", paused)
	listed, ok := c.domainsWithState()
	if !ok {
		t.Fatal("the daemon did not list domains with their states")
	}
	want := map[string]string{off: "shutoff", running: "running", paused: "paused"}
	for _, d := range listed {
		asked, err := c.State(d)
		if err != nil {
			t.Fatal(err)
		}
		if d.state != asked {
			t.Errorf("%s: listed %q, asked %q", d.Name, d.state, asked)
		}
		if w, ours := want[d.Name]; ours && d.state != w {
			t.Errorf("%s: %q, want %q", d.Name, d.state, w)
		}
		delete(want, d.Name)
	}
	if len(want) != 0 {
		t.Errorf("not listed: %v", want)
	}
	if _, ok := connect(t, "test:///default").domainsWithState(); !ok {
		t.Error("the test driver did not list domains with their states")
	}
}

// TestIntegrationWhatNestvirtDefinesIsWhatLibvirtKeeps: for every edit nestvirt
// makes (a <cpu> added, a feature required on a custom CPU, Hyper-V
// enlightenments, the originals put back), the definition libvirt keeps says
// the same as what nestvirt defined (domxml.SameDefinition). Edit relies on it
// to tell its own definition from another one that came after.
func TestIntegrationWhatNestvirtDefinesIsWhatLibvirtKeeps(t *testing.T) {
	c := connect(t, "qemu:///system")
	for _, tc := range []struct {
		file   string
		vendor string
		hyperv bool
	}{{"plain.xml", "intel", false}, {"win11-wsl2.xml", "intel", false}, {"win11-wsl2.xml", "intel", true}, {"win11-wsl2.xml", "amd", true}} {
		name := defineNamed(t, c, tc.file, fmt.Sprintf("same-%s-%s-%v", tc.vendor, strings.TrimSuffix(tc.file, ".xml"), tc.hyperv))
		for _, step := range []struct {
			what string
			fn   func([]byte) (domxml.Result, error)
		}{
			{"expose", func(raw []byte) (domxml.Result, error) {
				return domxml.Expose(raw, domxml.ExposeOptions{Vendor: tc.vendor, Hyperv: tc.hyperv})
			}},
			{"unexpose", domxml.Unexpose},
		} {
			x := virsh(t, "dumpxml", "--inactive", "--security-info", name)
			res, err := step.fn([]byte(x))
			if err != nil || !res.Changed {
				t.Fatalf("%s %s: %v (changed %v)", tc.file, step.what, err, res.Changed)
			}
			if err := c.Define(string(res.XML)); err != nil {
				t.Fatal(err)
			}
			back := virsh(t, "dumpxml", "--inactive", "--security-info", name)
			if !domxml.SameDefinition([]byte(back), res.XML) {
				t.Errorf("%s, %s: libvirt keeps another definition than nestvirt's:\n--- nestvirt's\n%s\n--- libvirt's\n%s", tc.file, step.what, res.XML, back)
			}
		}
	}
}

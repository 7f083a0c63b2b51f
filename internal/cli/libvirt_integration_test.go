//go:build integration

package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/libvirt/libvirttest"
)

// These use the real libvirtd that scripts/test.sh starts; without it they fail.

func defineDomain(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile("../domxml/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("nvcli-%d-%s", os.Getpid(), strings.TrimSuffix(file, ".xml"))
	x, err := libvirttest.Prepare(string(raw), name)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/d.xml"
	os.WriteFile(path, []byte(x), 0o644)
	if out, err := exec.Command("virsh", "-c", "qemu:///system", "define", path).CombinedOutput(); err != nil {
		t.Fatalf("these tests need a running libvirtd (bash scripts/libvirtd.sh): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("virsh", "-c", "qemu:///system", "undefine", name).Run() })
	return name
}

func TestIntegrationVMsAnnotateExposeThroughTheCLI(t *testing.T) {
	amdRoot := snapshots + "amd-l0-nested/root"
	win := defineDomain(t, "win11-wsl2.xml")
	if out, stderr, code := nv(t, "", "annotate", win, "--runs", "wsl2", "--l2", "ubuntu-24.04"); code != ExitOK || !strings.Contains(out, "runs wsl2 with L2 ubuntu24.04") {
		t.Fatalf("annotate: %d %s %s", code, out, stderr)
	}
	js, stderr, code := nv(t, "", "vms", "--root", amdRoot, "--migrates", "no", "--format", "json")
	if code != ExitFindings {
		t.Errorf("vms exit %d (%s)", code, stderr)
	}
	var doc struct {
		Verdict string         `json:"verdict"`
		Host    map[string]any `json:"host"`
		VMs     []struct {
			Name    string  `json:"name"`
			Exposes *bool   `json:"exposes_virtualization"`
			OS      *string `json:"os"`
			Verdict string  `json:"verdict"`
			Chains  []struct {
				Path []string `json:"path"`
			} `json:"chains"`
		} `json:"vms"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range doc.VMs {
		if v.Name == win {
			found = true
			if v.Exposes == nil || *v.Exposes || *v.OS != "win11" || v.Verdict != "does-not-work" || strings.Join(v.Chains[0].Path, "/") != "host/"+win+"/ubuntu24.04" {
				t.Errorf("%+v", v)
			}
		}
	}
	if !found || doc.Host["arch"] != "x86_64" {
		t.Fatalf("vms json: %s", js)
	}
	diff, _, code := nv(t, "", "expose", win, "--root", amdRoot, "--dry-run")
	if code != ExitOK || !strings.Contains(diff, "+    <feature policy='require' name='svm'/>") || strings.Contains(diff, "s3cr3tpw") {
		t.Errorf("dry run: %d\n%s", code, diff)
	}
	if out, stderr, code := nv(t, "", "expose", win, "--root", amdRoot); code != ExitOK || !strings.Contains(out, "definition updated") {
		t.Errorf("expose: %d %s %s", code, out, stderr)
	}
	if out, _, code := nv(t, "", "unexpose", win); code != ExitOK || !strings.Contains(out, "definition updated") {
		t.Errorf("unexpose: %d %s", code, out)
	}
	if out, _, code := nv(t, "", "unexpose", win); code != ExitOK || !strings.Contains(out, "nothing to change") {
		t.Errorf("a second unexpose: %d %s", code, out)
	}
	// A host with nesting off: expose refuses and says what would fix it.
	if _, stderr, code := nv(t, "", "expose", win, "--root", snapshots+"intel-l0-nesting-off/root"); code != ExitFindings || !strings.Contains(stderr, "nestvirt enable") {
		t.Errorf("expose on a host with nesting off: %d %s", code, stderr)
	}
	// A typo names the domain, not the host.
	if _, stderr, code := nv(t, "", "expose", "no-such-domain-xyz", "--root", snapshots+"intel-l0-nesting-off/root"); code != ExitInput || !strings.Contains(stderr, `no domain named "no-such-domain-xyz"`) {
		t.Errorf("expose of a missing domain: %d %s", code, stderr)
	}
	if _, stderr, code := nv(t, "", "annotate", "no-such-domain-xyz", "--runs", "wsl2"); code != ExitInput || !strings.Contains(stderr, `no domain named "no-such-domain-xyz"`) {
		t.Errorf("annotate of a missing domain: %d %s", code, stderr)
	}
}

// TestVMsOfARealSosreportAgreeWithTheLiveAudit: a domain defined in the real
// libvirtd, a real sosreport of this machine (its libvirt and virsh plugins keep
// the domain XML), and vms --sos judges the domain as vms does.
func TestVMsOfARealSosreportAgreeWithTheLiveAudit(t *testing.T) {
	name := defineDomain(t, "win11-wsl2.xml")
	report := sosReport(t, true)
	entry := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, code := nv(t, "", append(args, "--format", "json", "--fail-on", "never")...)
		if code != ExitOK {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
		var doc struct{ VMs []map[string]any }
		json.Unmarshal([]byte(out), &doc)
		for _, v := range doc.VMs {
			if v["name"] == name {
				return v
			}
		}
		t.Fatalf("%v: no %s in\n%s", args, name, out)
		return nil
	}
	live, fromSos := entry("vms"), entry("vms", "--sos", report)
	for _, k := range []string{"state", "arch", "cpu_mode", "exposes_virtualization", "os", "runs", "verdict"} {
		if jsonOf(live[k]) != jsonOf(fromSos[k]) {
			t.Errorf("%s: live %v, from the sosreport %v", k, live[k], fromSos[k])
		}
	}
}

// Tab after expose/unexpose/annotate lists the daemon's domains (read-only).
func TestIntegrationCompletionOfDomainNames(t *testing.T) {
	name := defineDomain(t, "win11-wsl2.xml")
	for _, cmd := range []string{"expose", "unexpose", "annotate"} {
		got, _ := complete(t, cmd, "nvcli-")
		if !slices.Contains(got, name) {
			t.Errorf("%s: %q not in %q", cmd, name, got)
		}
		for _, g := range got {
			if !strings.HasPrefix(g, "nvcli-") {
				t.Errorf("%s: %q", cmd, g)
			}
		}
		if got, _ := complete(t, cmd, name, ""); len(got) != 0 {
			t.Errorf("%s: a second argument completed: %q", cmd, got)
		}
	}
}

var record = flag.Bool("record", false, "record the real daemon into testdata/daemon (the replay the other tests use)")

// TestIntegrationTheRecordedDaemonIsTheRealOne: the replay the plain tests use
// (testdata/daemon) is what this real libvirtd answers: the same states, the
// same error for a guest agent that is not there, the same domain facts from
// the XML it returns. With -record it writes the recording instead.
func TestIntegrationTheRecordedDaemonIsTheRealOne(t *testing.T) {
	win := defineDomain(t, "win11-wsl2.xml")
	plain := defineDomain(t, "plain.xml")
	if out, err := exec.Command("virsh", "-c", libvirttest.URI, "start", plain).CombinedOutput(); err != nil {
		t.Fatalf("start: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("virsh", "-c", libvirttest.URI, "destroy", plain).Run() })
	conn, err := libvirt.Connect(libvirt.Options{URI: libvirttest.URI})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	recs, err := conn.ReadAll(4)
	if err != nil {
		t.Fatal(err)
	}
	conn.AskAgents(recs, 4)
	caps, err := exec.Command("virsh", "-c", libvirttest.URI, "capabilities").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The recording names the domains as their testdata does, with no UUID.
	names := map[string]string{win: "nv-win11", plain: "nv-plain"}
	uuid := regexp.MustCompile(`<uuid>[0-9a-f-]+</uuid>`)
	live := map[string]domxml.Record{}
	for _, r := range recs {
		if n, ok := names[r.Name]; ok {
			r.XML = []byte(uuid.ReplaceAllString(strings.ReplaceAll(string(r.XML), r.Name, n), "<uuid>00000000-0000-0000-0000-000000000000</uuid>"))
			r.Name = n
			live[n] = r
		}
	}
	if len(live) != 2 {
		t.Fatalf("the daemon listed %d of the 2 test domains", len(live))
	}
	ty, err := libvirttest.Type()
	if err != nil {
		t.Fatal(err)
	}
	if *record {
		version, _ := exec.Command("virsh", "-c", libvirttest.URI, "version", "--daemon").Output()
		rec := recording{
			Recorded:     fmt.Sprintf("the real libvirtd of scripts/libvirtd.sh (domains of type %s), by TestIntegrationTheRecordedDaemonIsTheRealOne -record; %s", ty, strings.Join(strings.Fields(string(version)), " ")),
			Capabilities: "capabilities.xml",
		}
		os.MkdirAll(recordingDir, 0o755)
		for _, n := range []string{"nv-plain", "nv-win11"} {
			r := live[n]
			file := n + ".xml"
			if err := os.WriteFile(filepath.Join(recordingDir, file), r.XML, 0o644); err != nil {
				t.Fatal(err)
			}
			rec.Domains = append(rec.Domains, recordedDomain{Name: n, State: r.State, XML: file, AgentError: r.AgentErr})
		}
		if err := os.WriteFile(filepath.Join(recordingDir, rec.Capabilities), []byte(uuid.ReplaceAllString(string(caps), "<uuid>00000000-0000-0000-0000-000000000000</uuid>")), 0o644); err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(rec, "", "  ")
		if err := os.WriteFile(filepath.Join(recordingDir, "recording.json"), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	rec := loadRecording(t)
	replayed := recordedDaemon(t, true)
	for _, rd := range rec.Domains {
		l, ok := live[rd.Name]
		if !ok {
			t.Errorf("%s is in the recording, not in this test", rd.Name)
			continue
		}
		if l.State != rd.State || l.AgentErr != rd.AgentError {
			t.Errorf("%s: live state %q and agent error %q; recorded %q and %q", rd.Name, l.State, l.AgentErr, rd.State, rd.AgentError)
		}
		r := replayed.recs[replayed.find(rd.Name)]
		lv, err1 := domxml.ReadVM(l.XML, domxml.HostCPU{Arch: "x86_64", Vendor: "amd"}, nil)
		rv, err2 := domxml.ReadVM(r.XML, domxml.HostCPU{Arch: "x86_64", Vendor: "amd"}, nil)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", rd.Name, err1, err2)
		}
		// The domain type and what the daemon fills in for it (the CPU of a
		// running domain) follow /dev/kvm, which the recording machine may not share.
		if lv.Type != rv.Type {
			lv.Type, lv.CPUMode, lv.Exposes, lv.Why = rv.Type, rv.CPUMode, rv.Exposes, rv.Why
		}
		if a, b := jsonOf(lv), jsonOf(rv); a != b {
			t.Errorf("%s: the live daemon's XML reads as\n%s\nthe recording's as\n%s\n(go test -tags integration -run TheRecordedDaemon ./internal/cli -record rewrites it)", rd.Name, a, b)
		}
	}
	if h, err := libvirt.HostOf(caps); err != nil || h.Arch != "x86_64" {
		t.Errorf("the live capabilities: %+v %v", h, err)
	}
}

// TestIntegrationAnnotateRoundTripsThroughTheMetadataAPI: the same domain
// annotated three times, then exposed, then annotated again, keeps every
// record: what libvirt's metadata API hands back is read as what was written.
func TestIntegrationAnnotateRoundTripsThroughTheMetadataAPI(t *testing.T) {
	name := defineDomain(t, "plain.xml")
	for _, args := range [][]string{
		{"annotate", name, "--runs", "kvm", "--l2", "rhel10.0"},
		{"annotate", name, "--runs", "kvm", "--l2", "rhel9.6,rhel10.0", "--os", "rhel9.6"},
		{"annotate", name, "--runs", "kvm", "--l2", "rhel10.0"},
		{"expose", name, "--root", snapshots + "amd-l0-nested/root"},
		{"annotate", name, "--runs", "kvm", "--l2", "rhel9.6"},
	} {
		if out, stderr, code := nv(t, "", args...); code != ExitOK {
			t.Fatalf("%v: exit %d %s %s", args, code, out, stderr)
		}
	}
	out, err := exec.Command("virsh", "-c", libvirttest.URI, "dumpxml", "--inactive", name).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	x := string(out)
	for _, want := range []string{"<nestvirt:runs>kvm</nestvirt:runs>", "<nestvirt:l2>rhel9.6</nestvirt:l2>", "<nestvirt:os>rhel9.6</nestvirt:os>", "<nestvirt:original-cpu", "name='svm'"} {
		if !strings.Contains(x, want) {
			t.Errorf("the definition lacks %s:\n%s", want, x)
		}
	}
	if out, stderr, code := nv(t, "", "unexpose", name); code != ExitOK || !strings.Contains(out, "definition updated") {
		t.Errorf("unexpose after annotate: %d %s %s", code, out, stderr)
	}
}

// TestThisMachinesHostYAMLIsNotAnotherHosts: with /etc/nestvirt/host.yaml
// stating migration and an L0 OS, vms and check --vms of the test driver
// reported them as the stated facts of the test driver's host; with a broken
// one, a remote audit failed with exit 2. The test driver's host is not this
// machine: neither is read for it.
func TestThisMachinesHostYAMLIsNotAnotherHosts(t *testing.T) {
	const hy = "/etc/nestvirt/host.yaml"
	old, had := os.ReadFile(hy)
	os.MkdirAll("/etc/nestvirt", 0o755)
	t.Cleanup(func() {
		if had == nil {
			os.WriteFile(hy, old, 0o644)
		} else {
			os.Remove(hy)
		}
	})
	for _, content := range []string{"migration: false\nl0:\n  os: rhel9.6\n", "migration: maybe\n"} {
		if err := os.WriteFile(hy, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := nv(t, "", "vms", "-c", "test:///default", "--format", "json", "--fail-on", "never")
		if code != ExitOK || strings.Contains(out, hy) || strings.Contains(out, `"migration": false`) || strings.Contains(out, "rhel9.6") {
			t.Errorf("%q: vms -c test:///default: exit %d\n%.3000s\n%s", content, code, out, stderr)
		}
	}
}

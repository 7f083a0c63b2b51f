//go:build integration

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

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

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const amdRoot = "../probe/testdata/snapshots/amd-l0-nested/root"

// These use the real libvirtd that scripts/test.sh starts; without it they fail.
func defineDomain(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile("../libvirt/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("nvcli-%d-%s", os.Getpid(), strings.TrimSuffix(file, ".xml"))
	x := string(raw)
	old := x[strings.Index(x, "<name>")+6 : strings.Index(x, "</name>")]
	x = strings.Replace(x, "<name>"+old+"</name>", "<name>"+name+"</name>", 1)
	path := t.TempDir() + "/d.xml"
	os.WriteFile(path, []byte(x), 0o644)
	if out, err := exec.Command("virsh", "-c", "qemu:///system", "define", path).CombinedOutput(); err != nil {
		t.Fatalf("these tests need a running libvirtd (bash scripts/libvirtd.sh): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("virsh", "-c", "qemu:///system", "undefine", name).Run() })
	return name
}

func TestVMsAnnotateExposeThroughTheCLI(t *testing.T) {
	win := defineDomain(t, "win11-wsl2.xml")
	if out, stderr, code := run(t, "", "annotate", win, "--runs", "wsl2", "--l2", "ubuntu-24.04"); code != ExitOK || !strings.Contains(out, "runs wsl2 with L2 ubuntu24.04") {
		t.Fatalf("annotate: %d %s %s", code, out, stderr)
	}
	js, stderr, code := run(t, "", "vms", "--root", amdRoot, "--format", "json")
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
	diff, _, code := run(t, "", "expose", win, "--root", amdRoot, "--dry-run")
	if code != ExitOK || !strings.Contains(diff, "+    <feature policy='require' name='svm'/>") || strings.Contains(diff, "s3cr3tpw") {
		t.Errorf("dry run: %d\n%s", code, diff)
	}
	if out, stderr, code := run(t, "", "expose", win, "--root", amdRoot); code != ExitOK || !strings.Contains(out, "definition updated") {
		t.Errorf("expose: %d %s %s", code, out, stderr)
	}
	if out, _, code := run(t, "", "unexpose", win); code != ExitOK || !strings.Contains(out, "definition updated") {
		t.Errorf("unexpose: %d %s", code, out)
	}
	// This development host's KVM is PVM: expose refuses, pointing at check.
	if _, stderr, code := run(t, "", "expose", win, "--root", "../probe/testdata/snapshots/intel-l0-nesting-off/root"); code != ExitInput || !strings.Contains(stderr, "nestvirt check") {
		t.Errorf("expose on a host with nesting off: %d %s", code, stderr)
	}
}

func TestLibvirtCommandsRefuseBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"vms", "-c", "http://example.com/"}, "not a libvirt URI"},
		{[]string{"vms", "-c", "qemu:///system?socket=/nonexistent/sock"}, "/nonexistent/sock"},
		{[]string{"annotate", "no-such-domain-xyz", "--runs", "wsl2"}, `no domain named "no-such-domain-xyz"`},
		{[]string{"annotate", "x", "--runs", "vmware"}, `--runs: unknown value "vmware"`},
		{[]string{"annotate", "x"}, "--runs is required"},
		{[]string{"annotate", "x", "--runs", "none", "--l2", "rhel10.0"}, "--l2 needs --runs"},
		{[]string{"annotate", "x", "--runs", "kvm", "--l2", "rhel"}, `--l2: unknown OS "rhel"`},
		{[]string{"expose"}, "give a DOMAIN or --file"},
		{[]string{"expose", "--file", "no/such.xml"}, "no/such.xml"},
		{[]string{"unexpose", "--file", "../libvirt/testdata/plain.xml"}, "no record of exposing"},
	}
	for _, tt := range tests {
		_, stderr, code := run(t, "", tt.args...)
		if code != ExitInput || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}

func TestExposeFilePrintsTheNewXML(t *testing.T) {
	out, stderr, code := run(t, "", "expose", "--file", "../libvirt/testdata/win11-wsl2.xml", "--vendor", "intel", "--hyperv", "on")
	if code != ExitOK || !strings.Contains(out, "<feature policy='require' name='vmx'/>") || !strings.Contains(out, "<evmcs state='on'/>") || !strings.Contains(out, "<!-- a Windows 11 guest that will run WSL2 -->") {
		t.Fatalf("exit %d %s\n%s", code, stderr, out)
	}
	path := t.TempDir() + "/exposed.xml"
	os.WriteFile(path, []byte(out), 0o644)
	back, _, code := run(t, "", "unexpose", "--file", path)
	orig, _ := os.ReadFile("../libvirt/testdata/win11-wsl2.xml")
	if code != ExitOK || !strings.Contains(back, "<feature policy='disable' name='svm'/>") || strings.Contains(back, "hyperv") || !strings.HasPrefix(back, string(orig[:strings.Index(string(orig), "<metadata>")])) {
		t.Errorf("unexpose --file: %d\n%s", code, back)
	}
	in, _ := os.ReadFile("../libvirt/testdata/plain.xml")
	out, _, code = run(t, string(in), "expose", "--file", "-", "--vendor", "amd")
	if code != ExitOK || !strings.Contains(out, "<cpu mode='host-passthrough' check='none' migratable='on'/>") {
		t.Errorf("stdin: %d %s", code, out)
	}
}

package libvirt

import (
	"os"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExposureFollowsTheCPUModeAndTheHost(t *testing.T) {
	caps := read(t, "domcaps-x86_64-amd-pvm.xml") // captured from a PVM host: host-model has no svm
	hostModel := func(arch, feat string) (bool, error) { return HostModelRequires(caps, feat) }
	amd := HostCPU{Arch: "x86_64", Vendor: "amd", VirtExt: "svm"}
	pvm := HostCPU{Arch: "x86_64", Vendor: "amd"}
	tests := []struct {
		file    string
		host    HostCPU
		mode    string
		exposes bool
		why     string
	}{
		{"win11-wsl2.xml", amd, "custom", false, "<feature policy='disable' name='svm'/> hides it"},
		{"rhel-lab.xml", amd, "host-passthrough", true, "passes the host's svm through"},
		{"rhel-lab.xml", pvm, "host-passthrough", false, "the host shows no svm"},
		{"plain.xml", amd, "none", false, "default CPU model"},
		{"hostmodel.xml", amd, "host-model", false, "the host-model CPU lacks svm"},
	}
	for _, tt := range tests {
		v, err := Facts(read(t, tt.file), tt.host, hostModel)
		if err != nil {
			t.Fatal(err)
		}
		if v.CPUMode != tt.mode || v.Exposes == nil || *v.Exposes != tt.exposes || !strings.Contains(v.Why, tt.why) {
			t.Errorf("%s on %+v: mode %s exposes %v (%s)", tt.file, tt.host, v.CPUMode, v.Exposes, v.Why)
		}
	}
}

func TestHostModelReadsDomainCapabilities(t *testing.T) {
	caps := read(t, "domcaps-x86_64-amd-pvm.xml")
	for feat, want := range map[string]bool{"svm": false, "x2apic": true, "pni": false} {
		got, err := HostModelRequires(caps, feat)
		if err != nil || got != want {
			t.Errorf("%s: %v %v", feat, got, err)
		}
	}
	if _, err := HostModelRequires("<domainCapabilities/>", "vmx"); err == nil {
		t.Error("capabilities without CPU modes accepted")
	}
}

func TestFactsReadOSHugepagesAndAnnotation(t *testing.T) {
	v, err := Facts(read(t, "rhel-lab.xml"), HostCPU{Arch: "x86_64", Vendor: "intel", VirtExt: "vmx"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.OS == nil || *v.OS != "rhel9.6" || v.OSFrom != "libosinfo" || !v.Huge || v.Runs != "none" {
		t.Errorf("%+v", v)
	}
	if _, err := Facts("<domain><name>x</name>", HostCPU{}, nil); err == nil {
		t.Error("truncated XML accepted")
	}
}

func TestSecretsAreMasked(t *testing.T) {
	in := `<graphics type='vnc' passwd='s3cr3tpw'/><graphics type="spice" passwd="other"/><auth password='p'/>`
	out := string(MaskSecrets([]byte(in)))
	if strings.Contains(out, "s3cr3tpw") || strings.Contains(out, "other") || strings.Contains(out, "'p'") || strings.Count(out, "***") != 3 {
		t.Errorf("%s", out)
	}
}

func TestConnectNamesWhatItTried(t *testing.T) {
	_, err := Connect("qemu:///system?socket=/nonexistent/libvirt-sock", false)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libvirt-sock") {
		t.Errorf("missing socket: %v", err)
	}
	for _, bad := range []string{"http://example.com/", "not a uri", "ftp:///x"} {
		_, err := Connect(bad, true)
		if err == nil || !strings.Contains(err.Error(), "not a libvirt URI") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

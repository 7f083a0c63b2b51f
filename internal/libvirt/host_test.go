package libvirt

import (
	"os"
	"strings"
	"testing"
)

// TestHostOfAnAMDDaemonsCapabilities reads what a real libvirt 9.0 daemon
// answered for virConnectGetCapabilities (testdata, recorded with virsh).
func TestHostOfAnAMDDaemonsCapabilities(t *testing.T) {
	caps, err := os.ReadFile("testdata/capabilities-amd.xml")
	if err != nil {
		t.Fatal(err)
	}
	h, err := HostOf(caps)
	if err != nil || h.Arch != "x86_64" || h.Vendor != "amd" {
		t.Errorf("%+v %v", h, err)
	}
	// The same host with another vendor string, and with none.
	intel := strings.Replace(string(caps), "<vendor>AMD</vendor>", "<vendor>Intel</vendor>", 1)
	if h, err := HostOf([]byte(intel)); err != nil || h.Vendor != "intel" {
		t.Errorf("Intel: %+v %v", h, err)
	}
	none := strings.Replace(string(caps), "<vendor>AMD</vendor>", "", 1)
	if h, err := HostOf([]byte(none)); err != nil || h.Vendor != "" {
		t.Errorf("no vendor: %+v %v", h, err)
	}
	if _, err := HostOf([]byte("<capabilities><host><cpu/></host></capabilities>")); err == nil {
		t.Error("capabilities without an arch were read")
	}
	if _, err := HostOf([]byte("<not-xml")); err == nil {
		t.Error("junk was read")
	}
}

package judge

import (
	"os"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// TestRedHatOfferingsAreSeenFromInsideTheL1: a RHEL 10 L1 (and a Windows L1)
// whose SMBIOS names OpenStack Nova, RHV or KubeVirt is told that L1s created
// in Red Hat's other offerings are not tested, with its L0 stated as RHEL 10;
// the same L1 under plain libvirt is a Technology Preview (Windows: supported).
func TestRedHatOfferingsAreSeenFromInsideTheL1(t *testing.T) {
	rhel10 := "rhel10.0"
	for snap, want := range map[string]policy.Level{
		"rhel10-l1-on-openstack": policy.Untested,
		"rhel10-l1-on-rhv":       policy.Untested,
		"rhel10-l1-on-kubevirt":  policy.Untested,
		"win11-l1-on-openstack":  policy.Untested,
		"win10-l1-wsl2":          policy.Supported,
	} {
		f := probeDir(t, snapshots+snap+"/root")
		f.Stated.L0OS = &rhel10
		r := check(t, f)
		fd := finding(r, "host-rh-offering")
		if r.Verdict != want || (want == policy.Untested) != (fd != nil && !fd.Undetermined) {
			t.Errorf("%s: verdict %s, host-rh-offering %+v", snap, r.Verdict, fd)
		}
	}
}

// TestAVMOfAnL1HostThatHostsVMsIsAnL2UsedAsAHypervisor: on a host that is
// itself an L1, a VM annotated as running KVM (its guests not listed) is an L2
// used as a hypervisor: not expected to work. Unannotated, it is a plain L2.
func TestAVMOfAnL1HostThatHostsVMsIsAnL2UsedAsAHypervisor(t *testing.T) {
	raw, err := os.ReadFile("../domxml/testdata/rhel-lab.xml")
	if err != nil {
		t.Fatal(err)
	}
	annotated := strings.Replace(string(raw), "</metadata>", `<nestvirt:guest xmlns:nestvirt="https://nestvirt.dev/xmlns/libvirt/1"><nestvirt:runs>kvm</nestvirt:runs></nestvirt:guest></metadata>`, 1)
	if annotated == string(raw) {
		t.Fatal("rhel-lab.xml has no <metadata> to annotate")
	}
	annotated = strings.Replace(annotated, "<name>nv-rhel-lab</name>", "<name>hv</name>", 1)
	host := probeDir(t, snapshots+"rhel96-l1-on-kvm/root")
	a := VMs(policy.Default(), host, []domxml.Record{{Name: "hv", State: "shutoff", XML: []byte(annotated)}, {Name: "plain", State: "shutoff", XML: raw}}, nil)
	for _, v := range a.VMs {
		got := strings.Contains(fired(v.Chains), "l2-hypervisor")
		if got != (v.Name == "hv") || (v.Name == "hv" && v.Verdict != policy.NotExpectedToWork) || (v.Name != "hv" && v.Name != "nv-rhel-lab") {
			t.Errorf("%s: verdict %s, findings %s", v.Name, v.Verdict, fired(v.Chains))
		}
	}
}

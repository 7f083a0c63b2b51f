package judge

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/identity"
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

// TestEveryCloudsL0IsDecidedOneWay: a RHEL guest that can host VMs in a public
// cloud is judged the same whichever cloud, KVM-based or not: the provider's
// hypervisor is its L0, not a RHEL-KVM host. On AWS and Compute Engine it was
// "not RHEL-KVM"; on Hetzner and the other KVM clouds the verdict waited on
// the L0's OS ("could be tech-preview if the OS of the L0 were known"), which
// stating it could not change.
func TestEveryCloudsL0IsDecidedOneWay(t *testing.T) {
	base := probeDir(t, snapshots+"rhel96-l1-on-kvm/root")
	var want string
	for _, c := range []struct{ cloud, vm string }{{"aws", "amazon"}, {"gcp", "google"}, {"hetzner", "kvm"}, {"digitalocean", "kvm"}, {"alibaba", "kvm"}, {"azure", "microsoft"}} {
		f := base
		f.Virtualization.Cloud, f.Virtualization.VM = probe.Ptr(c.cloud), probe.Ptr(c.vm)
		f.Virtualization.Hypervisor = probe.Ptr("kvm")
		f.Virtualization.Platform = probe.Ptr("none")
		identity.CloudL0(&f.Virtualization)
		f.Stated.L0OS = probe.Ptr("rhel10.0") // stating the L0's OS does not make it RHEL-KVM
		r, err := Check(policy.Default(), f)
		if err != nil {
			t.Fatal(err)
		}
		var rules []string
		for _, fd := range r.Findings {
			if !fd.Informational && fd.Level > policy.Supported {
				rules = append(rules, fmt.Sprintf("%s/%s/undetermined=%v", fd.Rule, fd.Level, fd.Undetermined))
			}
		}
		got := r.Verdict.String() + " " + strings.Join(rules, " ")
		if want == "" {
			want = got
			if r.Verdict != policy.Untested || !slices.Contains(rules, "host-guest-of-non-kvm/untested/undetermined=false") {
				t.Errorf("%s: %s", c.cloud, got)
			}
		} else if got != want {
			t.Errorf("%s: %s; %s gave %s", c.cloud, got, "aws", want)
		}
		if lm := l0Manager(f); lm != "cloud" {
			t.Errorf("%s: l0_manager %q", c.cloud, lm)
		}
	}
}

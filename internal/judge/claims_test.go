package judge

import (
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/policy"
)

func finding(r CheckResult, rule string) *policy.Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule == rule {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestPVMSaysWhetherThereIsADevKVM: a machine with kvm_pvm but no /dev/kvm is
// not told that /dev/kvm works.
func TestPVMSaysWhetherThereIsADevKVM(t *testing.T) {
	for snap, want := range map[string]string{"pvm": "/dev/kvm is there, so guests can run", "pvm-no-dev-kvm": "There is no /dev/kvm, so no guest can run now"} {
		f := finding(judgeSnapshot(t, snap), "host-pvm")
		if f == nil || !strings.Contains(f.Message, want) {
			t.Errorf("%s: %+v, want %q", snap, f, want)
		}
	}
}

// TestTheRemedyForAGuestThatHidesVirtualizationFitsItsL0: nestvirt expose only
// where libvirt defines the VM (a QEMU guest with its SMBIOS and no management
// layer named); each other L0 gets its own tool, and one that cannot be told
// gets both ways.
func TestTheRemedyForAGuestThatHidesVirtualizationFitsItsL0(t *testing.T) {
	tests := []struct {
		name                        string
		hypervisor, platform, cloud string
		smbios                      bool
		want, not                   string
	}{
		{"libvirt", "kvm", "none", "none", true, "nestvirt expose VM (host-passthrough", ""},
		{"KVM without QEMU (no SMBIOS)", "kvm", "none", "none", false, "nestvirt expose does not apply", "nestvirt expose VM (host"},
		{"OpenStack", "kvm", "openstack", "openstack", true, "nova.conf", "nestvirt expose VM (host"},
		{"RHV", "kvm", "rhv", "none", true, "Pass-Through Host CPU", "nestvirt expose VM (host"},
		{"OpenShift Virtualization", "kvm", "openshift-virtualization", "none", true, "cpu.model: host-passthrough", "nestvirt expose VM (host"},
		{"a public cloud", "kvm", "none", "gcp", true, "public cloud (gcp)", "nestvirt expose VM (host"},
		{"ESXi", "esxi", "none", "none", true, "Expose hardware assisted virtualization", "nestvirt expose"},
		{"Hyper-V", "hyper-v", "none", "none", true, "ExposeVirtualizationExtensions", "nestvirt expose"},
		{"QEMU emulation", "qemu", "none", "none", true, "-cpu max", "nestvirt expose"},
		{"another hypervisor", "other", "none", "none", true, "cannot be identified from here", ""},
	}
	base := probeDir(t, snapshots+"kvm-guest-no-vmx/root")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			v := f.Virtualization
			v.Hypervisor, v.Platform, v.Cloud, v.SMBIOS = &tt.hypervisor, &tt.platform, &tt.cloud, &tt.smbios
			f.Virtualization = v
			fd := finding(check(t, f), "host-guest-hides-virt")
			if fd == nil || fd.Undetermined {
				t.Fatalf("host-guest-hides-virt: %+v", fd)
			}
			if !strings.Contains(fd.Remedy, tt.want) || (tt.not != "" && strings.Contains(fd.Remedy, tt.not)) {
				t.Errorf("remedy %q: want %q, not %q", fd.Remedy, tt.want, tt.not)
			}
		})
	}
}

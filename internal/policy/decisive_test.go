package policy

import (
	"strings"
	"testing"
)

// decisive holds, for every rule and matrix row of the embedded policy, the
// words of the source it cites that decide it: a finding must cite the
// sentence that says what it says (host-l1-os-unlisted cited the Technology
// Preview sentence, where the table's L1 column decides). A rule added
// without an entry fails here.
var decisive = map[string]string{
	"no-nesting":                     "ordinary virtualization",
	"plain-virtualization":           "when the L0 is RHEL-KVM",
	"l0-not-rhel-kvm":                "outside Red Hat's support on any other L0",
	"l0-nesting-off":                 "nesting is a parameter of the kvm_intel or kvm_amd module",
	"pvm-l2":                         "tests nesting only on RHEL-KVM",
	"arch-not-nestable":              "Nested virtualization currently does not work on other architectures",
	"non-kvm-l0":                     "on a non-KVM L0 hypervisor",
	"rh-offering":                    "not tested when used in other Red Hat virtualization offerings",
	"l3-guests":                      "creating L3 guests has not been properly tested",
	"l2-hypervisor":                  "Use of L2 VMs as hypervisors",
	"wsl2-build":                     "build 18362",
	"wsl2-l3":                        "a VM started there is a guest of the L2, an L3",
	"amd-migration":                  "Migrating VMs currently does not work on AMD systems",
	"s390x-hugepages":                "huge-page backing storage and nested virtualization cannot be used at the same time",
	"l1-hides-virt":                  "the L1 VM must see the virtualization extension",
	"ws2019-wsl2":                    "Windows Server 2019 (build 17763) runs WSL 1 only",
	"rhel9-book":                     "create an L1 Windows VM on a RHEL 9 or RHEL 10 L0 host",
	"l0-features":                    "Some features available on the L0 host might be unavailable",
	"host-arch-not-nestable":         "Nested virtualization currently does not work on other architectures",
	"host-no-kvm":                    "so that /dev/kvm exists",
	"host-l0-os":                     "On the L0 host:",
	"host-nesting-off":               "nesting is a parameter of the kvm_intel or kvm_amd module",
	"host-nesting-changes-at-reload": "read when the module loads",
	"host-amd-migration":             "Migrating VMs currently does not work on AMD systems",
	"host-s390x-hpage":               "huge-page backing storage and nested virtualization cannot be used",
	"host-s390x-both-configured":     "cannot back its KVM guests with huge pages",
	"host-l0-ready":                  "On the L0 host:",
	"host-l0-ready-rhel9":            "RHEL 9.2 and later as the L0 host",
	"host-l0-ready-ibmz":             "Intel, AMD, or IBM Z",
	"host-guest-of-non-kvm":          "on a non-KVM L0 hypervisor",
	"host-rh-offering":               "not tested when used in other Red Hat virtualization offerings",
	"host-guest-depth":               "creating L3 guests has not been properly tested",
	"host-guest-hides-virt":          "the L1 VM must see the virtualization extension",
	"host-guest-no-kvm":              "with the KVM kernel module loaded",
	"host-l1-on-kvm":                 "available only as a Technology Preview",
	"host-l1-l0-unlisted":            "On the L0 host:",
	"host-l1-os-unlisted":            "On the L1 VMs:",
	"host-pvm":                       "tests nesting only on RHEL-KVM",
	"host-wsl2":                      "use WSL2 to create a virtual Linux environment inside the L1 Windows VM",
	"host-wsl2-supported":            "Currently, this is the only supported nested environment",
	"host-wsl2-vms":                  "a VM started there is a guest of the L2, an L3",
	"host-container":                 "tests nesting only on RHEL-KVM",
	"win-wsl2-build":                 "build 18362",
	"win-not-exposed":                "the L1 VM must see the virtualization extension",
	"win-vmp-off":                    "Virtual Machine Platform optional feature",
	"win-wsl1":                       "WSL 1 translates Linux system calls and runs no virtual machine",
	"win-wsl-default-1":              "WSL 1 translates Linux system calls",
	"win-no-wsl":                     "use WSL2",
	"win-wsl2-nested":                "nestedVirtualization",
	"win-l1-supported":               "create an L1 Windows VM on a RHEL 9 or RHEL 10 L0 host",
	"win-l1-supported-rhel9":         "RHEL 9.2 and later as the L0 host",
	"win-l1-l0-unlisted":             "on a RHEL 9 or RHEL 10 L0 host",
	"win-l1-not-kvm":                 "tests nesting only on RHEL-KVM",
	"win-l1-emulated":                "has no emulation",
	"win-not-l1":                     "create an L1 Windows VM",
	"matrix/wsl2":                    "Currently, this is the only supported nested environment",
	"matrix/rhel9-wsl2":              "RHEL 9.2 and later as the L0 host",
	"matrix/tech-preview":            "available only as a Technology Preview",
}

func TestEveryFindingCitesTheWordsThatDecideIt(t *testing.T) {
	p := Default()
	seen := map[string]bool{}
	check := func(id, source string) {
		seen[id] = true
		words, ok := decisive[id]
		if !ok {
			t.Errorf("%s: no decisive words listed for it here", id)
			return
		}
		s, ok := p.Sources[source]
		if !ok {
			t.Errorf("%s: cites %q, which is no source", id, source)
			return
		}
		text := strings.Join(s.Quote, " ") + " " + s.Summary
		if !strings.Contains(text, words) {
			t.Errorf("%s cites %s, which does not say %q:\n%s", id, source, words, text)
		}
	}
	for _, r := range p.Rules {
		check(r.ID, r.Source)
	}
	for _, row := range p.Matrix {
		check("matrix/"+row.ID, row.Source)
	}
	for id := range decisive {
		if !seen[id] {
			t.Errorf("%s is listed here but is no rule or row", id)
		}
	}
}

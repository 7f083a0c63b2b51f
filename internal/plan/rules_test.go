package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/topology"
)

// chain3 writes a topology with one L0 -> L1 -> L2 chain.
func chain3(host, l1os, runs, l2os string) string {
	return fmt.Sprintf(`host:
%s
  guests:
    - name: l1
      os: %s
      hypervisor: %s
      guests:
        - name: l2
          os: %s
`, indent(host), l1os, runs, l2os)
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}

const rhel10Intel = "os: rhel10.0\ncpu: intel"

// judgeOne parses a topology text and judges its single chain.
func judgeOne(t *testing.T, text string) policy.ChainResult {
	t.Helper()
	topo, err := topology.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	res, err := Judge(policy.Default(), topo)
	if err != nil {
		t.Fatalf("judge: %s", err)
	}
	if len(res.Chains) != 1 {
		t.Fatalf("want one chain, got %d", len(res.Chains))
	}
	return res.Chains[0]
}

func rules(c policy.ChainResult) []string {
	var out []string
	for _, f := range c.Findings {
		out = append(out, f.Rule)
	}
	return out
}

func TestRulesJudgeEachChainAsTheSourceSays(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		verdict policy.Level
		want    []string // rules that must fire
		notWant []string // rules that must not
	}{
		// The supported table.
		{"windows 11 with wsl2 on rhel 10 intel is supported", chain3(rhel10Intel, "win11", "wsl2", "ubuntu24.04"), policy.Supported, []string{"matrix/wsl2", "l0-features"}, nil},
		{"windows 10 with wsl2 on rhel 10 amd is supported", chain3("os: rhel10.0\ncpu: amd", "win10", "wsl2", "fedora41"), policy.Supported, []string{"matrix/wsl2"}, []string{"amd-migration"}},
		{"windows server 2022 with wsl2 is supported", chain3(rhel10Intel, "win2k22", "wsl2", "ubuntu24.04"), policy.Supported, []string{"matrix/wsl2"}, nil},
		{"windows server 2025 with wsl2 is supported", chain3(rhel10Intel, "windows-server-2025", "wsl2", "ubuntu24.04"), policy.Supported, []string{"matrix/wsl2"}, nil},
		{"windows server 2019 with wsl2 is listed but cannot run wsl2", chain3(rhel10Intel, "win2k19", "wsl2", "ubuntu24.04"), policy.DoesNotWork, []string{"ws2019-wsl2", "matrix/wsl2"}, nil},
		{"windows server 2016 with wsl2 is outside the table", chain3(rhel10Intel, "win2k16", "wsl2", "ubuntu24.04"), policy.Unsupported, []string{"matrix/unlisted"}, []string{"ws2019-wsl2"}},
		{"windows 8.1 with wsl2 is outside the table", chain3(rhel10Intel, "win8.1", "wsl2", "ubuntu24.04"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"wsl2 with a windows l2 is outside the table", chain3(rhel10Intel, "win11", "wsl2", "win10"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"wsl2 on rhel 10 s390x is not supported", chain3("os: rhel10.0\narch: s390x", "win11", "wsl2", "ubuntu24.04"), policy.Unsupported, []string{"matrix/unlisted"}, nil},

		// The RHEL 9 L0 question: the RHEL 9 book's table, said so.
		{"rhel 9.2 l0 with wsl2 is supported by the rhel 9 book", chain3("os: rhel9.2\ncpu: intel", "win11", "wsl2", "ubuntu24.04"), policy.Supported, []string{"matrix/rhel9-wsl2", "rhel9-book"}, nil},
		{"rhel 9.1 l0 with wsl2 is unsupported", chain3("os: rhel9.1\ncpu: intel", "win11", "wsl2", "ubuntu24.04"), policy.Unsupported, []string{"matrix/unlisted"}, []string{"rhel9-book"}},
		{"rhel 9 book lists windows server up to 2022", chain3("os: rhel9.4\ncpu: intel", "win2k25", "wsl2", "ubuntu24.04"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"rhel 10 l0 is judged by the rhel 10 book", chain3(rhel10Intel, "win11", "wsl2", "ubuntu24.04"), policy.Supported, nil, []string{"rhel9-book"}},

		// The Technology Preview table and its boundaries.
		{"rhel 9.6 l1 with rhel 9.6 l2 is tech preview", chain3(rhel10Intel, "rhel9.6", "kvm", "rhel9.6"), policy.TechPreview, []string{"matrix/tech-preview"}, nil},
		{"rhel 9.5 l1 is unsupported", chain3(rhel10Intel, "rhel9.5", "kvm", "rhel10.0"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"rhel 9.5 l2 is unsupported", chain3(rhel10Intel, "rhel10.0", "kvm", "rhel9.5"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"rhel 10.1 at every level is tech preview", chain3("os: rhel10.1\ncpu: amd", "rhel10.1", "kvm", "rhel10.1"), policy.TechPreview, []string{"matrix/tech-preview"}, nil},
		{"rhel 9.6 l0 is not a tech preview l0", chain3("os: rhel9.6\ncpu: intel", "rhel10.0", "kvm", "rhel10.0"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"windows server 2016 hyper-v with windows server 2019 l2 is tech preview", chain3(rhel10Intel, "win2k16", "hyper-v", "win2k19"), policy.TechPreview, []string{"matrix/tech-preview"}, nil},
		{"windows server 2016 as l2 is unsupported", chain3(rhel10Intel, "win2k22", "hyper-v", "win2k16"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"windows server 2012 r2 hyper-v l1 is unsupported", chain3(rhel10Intel, "win2k12r2", "hyper-v", "win2k19"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"windows 10 hyper-v l1 is tech preview", chain3(rhel10Intel, "win10", "hyper-v", "rhel10.0"), policy.TechPreview, []string{"matrix/tech-preview"}, nil},
		{"windows 11 hyper-v l1 is tech preview", chain3(rhel10Intel, "win11", "hyper-v", "win2k25"), policy.TechPreview, []string{"matrix/tech-preview"}, nil},
		{"windows 8.1 hyper-v l1 is unsupported", chain3(rhel10Intel, "win8.1", "hyper-v", "rhel10.0"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"ubuntu as a kvm l1 is unsupported", chain3(rhel10Intel, "ubuntu24.04", "kvm", "rhel10.0"), policy.Unsupported, []string{"matrix/unlisted"}, nil},
		{"an l2 with no os is placed only if its os were known", "host:\n  os: rhel10.0\n  guests:\n    - name: l1\n      os: rhel10.0\n      guests:\n        - name: l2\n", policy.Unsupported, []string{"matrix/tech-preview"}, []string{"matrix/unlisted"}},
		{"ibm z tech preview with nesting and no huge pages", chain3("os: rhel10.0\narch: s390x", "rhel10.0", "kvm", "rhel10.0"), policy.TechPreview, []string{"matrix/tech-preview"}, []string{"s390x-hugepages", "arch-not-nestable"}},

		// Architectures.
		{"aarch64 l0 with an l2 does not work", chain3("os: rhel10.0\narch: aarch64", "rhel10.0", "kvm", "rhel10.0"), policy.DoesNotWork, []string{"arch-not-nestable"}, nil},
		{"ppc64le l0 with an l2 does not work", chain3("os: rhel10.0\narch: ppc64le", "rhel10.0", "kvm", "rhel10.0"), policy.DoesNotWork, []string{"arch-not-nestable"}, nil},
		{"aarch64 l0 without nesting is ordinary virtualization", "host:\n  os: rhel10.0\n  arch: aarch64\n  guests:\n    - name: g\n      os: rhel10.0\n", policy.Supported, []string{"no-nesting", "plain-virtualization"}, []string{"arch-not-nestable"}},

		// Migration: AMD versus Intel.
		{"amd l0 with nesting and migration does not work", chain3("os: rhel10.0\ncpu: amd\nmigration: true", "rhel10.0", "kvm", "rhel10.0"), policy.DoesNotWork, []string{"amd-migration"}, nil},
		{"amd migration breaks even a plain guest when nesting is on", "host:\n  os: rhel10.0\n  cpu: amd\n  migration: true\n  guests:\n    - name: g\n      os: rhel10.0\n", policy.DoesNotWork, []string{"amd-migration"}, nil},
		{"amd l0 with migration and nesting off has no migration finding", "host:\n  os: rhel10.0\n  cpu: amd\n  nested: false\n  migration: true\n  guests:\n    - name: g\n      os: rhel10.0\n", policy.Supported, nil, []string{"amd-migration"}},
		{"intel l0 with nesting and migration is fine", chain3("os: rhel10.0\ncpu: intel\nmigration: true", "rhel10.0", "kvm", "rhel10.0"), policy.TechPreview, nil, []string{"amd-migration"}},

		// IBM Z huge pages.
		{"s390x with huge pages and nesting does not work", chain3("os: rhel10.0\narch: s390x\nhugepages: true", "rhel10.0", "kvm", "rhel10.0"), policy.DoesNotWork, []string{"s390x-hugepages"}, nil},
		{"s390x with huge pages and nesting off has no huge-page finding", "host:\n  os: rhel10.0\n  arch: s390x\n  hugepages: true\n  nested: false\n  guests:\n    - name: g\n      os: rhel10.0\n", policy.Supported, nil, []string{"s390x-hugepages"}},
		{"x86 huge pages with nesting are fine", chain3("os: rhel10.0\ncpu: intel\nhugepages: true", "rhel10.0", "kvm", "rhel10.0"), policy.TechPreview, nil, []string{"s390x-hugepages"}},

		// Nesting off on the L0.
		{"an l2 under an l0 with nesting off does not work", chain3("os: rhel10.0\ncpu: intel\nnested: false", "win11", "wsl2", "ubuntu24.04"), policy.DoesNotWork, []string{"l0-nesting-off"}, nil},

		// Non-KVM L0s and Red Hat's other offerings.
		{"esxi l0 with an l1 hosting l2s is untested", chain3("hypervisor: esxi", "rhel10.0", "kvm", "rhel10.0"), policy.Untested, []string{"non-kvm-l0"}, nil},
		{"aws l0 with an l1 hosting l2s is untested", chain3("hypervisor: aws", "rhel10.0", "kvm", "rhel10.0"), policy.Untested, []string{"non-kvm-l0"}, nil},
		{"hyper-v l0 with an l1 hosting l2s is untested", chain3("hypervisor: hyper-v\nos: win2k22", "rhel10.0", "kvm", "rhel10.0"), policy.Untested, []string{"non-kvm-l0"}, nil},
		{"esxi l0 with a plain guest is not judged untested, and not supported", "host:\n  hypervisor: esxi\n  guests:\n    - name: g\n      os: rhel10.0\n", policy.Unsupported, []string{"no-nesting", "l0-not-rhel-kvm"}, []string{"non-kvm-l0", "plain-virtualization"}},
		{"qemu emulation as the l0 is not rhel-kvm: untested", chain3("hypervisor: qemu", "rhel10.0", "kvm", "rhel10.0"), policy.Untested, []string{"non-kvm-l0"}, []string{"matrix/tech-preview"}},
		{"a debian l0 with a debian guest is outside red hat's support", "host:\n  os: debian12\n  guests:\n    - name: g\n      os: debian12\n", policy.Unsupported, []string{"l0-not-rhel-kvm", "no-nesting"}, []string{"plain-virtualization"}},
		{"a debian l0 with nested guests is outside the tables", chain3("os: debian12\ncpu: intel", "rhel10.0", "kvm", "rhel10.0"), policy.Unsupported, []string{"matrix/unlisted"}, []string{"l0-not-rhel-kvm"}},
		{"openstack l1 hosting l2s is untested", chain3("os: rhel10.0\nplatform: openstack", "rhel10.0", "kvm", "rhel10.0"), policy.Untested, []string{"rh-offering"}, nil},
		{"rhv l1 hosting l2s is untested", chain3("os: rhel10.0\nplatform: rhv", "rhel10.0", "kvm", "rhel10.0"), policy.Untested, []string{"rh-offering"}, nil},
		{"openshift virtualization l1 hosting l2s is untested", chain3("os: rhel10.0\nplatform: openshift-virtualization", "rhel10.0", "kvm", "rhel10.0"), policy.Untested, []string{"rh-offering"}, nil},

		// L3 and deeper.
		{"an l2 that hosts an l3 is not expected to work", "host:\n  os: rhel10.0\n  guests:\n    - name: l1\n      os: rhel10.0\n      guests:\n        - name: l2\n          os: rhel10.0\n          guests:\n            - name: l3\n              os: rhel10.0\n", policy.NotExpectedToWork, []string{"l3-guests", "matrix/tech-preview"}, []string{"wsl2-l3"}},
		{"a vm inside wsl2 is an l3", "host:\n  os: rhel10.0\n  guests:\n    - name: win\n      os: win11\n      hypervisor: wsl2\n      guests:\n        - name: wsl\n          os: ubuntu24.04\n          guests:\n            - name: vm\n              os: fedora41\n", policy.NotExpectedToWork, []string{"l3-guests", "wsl2-l3"}, nil},

		// Chains without nesting.
		{"a rhel host with no guests is ordinary virtualization", "host:\n  os: rhel10.0\n", policy.Supported, []string{"plain-virtualization", "no-nesting"}, []string{"l0-features"}},
		{"a plain l1 is ordinary virtualization and says so", "host:\n  os: rhel10.0\n  guests:\n    - name: g\n      os: win2k22\n", policy.Supported, []string{"no-nesting", "plain-virtualization"}, []string{"l0-features"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := judgeOne(t, tt.text)
			got := rules(c)
			if c.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s (findings %v)", c.Verdict, tt.verdict, got)
			}
			for _, r := range tt.want {
				if !slices.Contains(got, r) {
					t.Errorf("rule %s did not fire; findings %v", r, got)
				}
			}
			for _, r := range tt.notWant {
				if slices.Contains(got, r) {
					t.Errorf("rule %s fired; findings %v", r, got)
				}
			}
			for _, f := range c.Findings {
				if f.Source == "" || f.Message == "" {
					t.Errorf("finding %s lacks a message or source: %+v", f.Rule, f)
				}
				if strings.Contains(f.Message, "{{") || strings.Contains(f.Remedy, "{{") {
					t.Errorf("finding %s has an unexpanded template: %q %q", f.Rule, f.Message, f.Remedy)
				}
			}
		})
	}
}

func TestRemediesNameTheHostsModule(t *testing.T) {
	tests := []struct{ host, module string }{
		{"os: rhel10.0\ncpu: intel\nnested: false", "kvm_intel"},
		{"os: rhel10.0\ncpu: amd\nnested: false", "kvm_amd"},
		{"os: rhel10.0\narch: s390x\nnested: false", "options kvm nested=1"},
	}
	for _, tt := range tests {
		c := judgeOne(t, chain3(tt.host, "rhel10.0", "kvm", "rhel10.0"))
		var remedy string
		for _, f := range c.Findings {
			if f.Rule == "l0-nesting-off" {
				remedy = f.Remedy
			}
		}
		if !strings.Contains(remedy, tt.module) || !strings.Contains(remedy, "nestvirt enable") {
			t.Errorf("%q: remedy %q does not name %s and nestvirt enable", tt.host, remedy, tt.module)
		}
		if strings.Contains(remedy, "echo") || strings.Contains(remedy, ">") {
			t.Errorf("%q: remedy %q writes over a file", tt.host, remedy)
		}
	}
}

func TestUnlistedChainsExplainTheNearestTable(t *testing.T) {
	c := judgeOne(t, chain3(rhel10Intel, "rhel9.5", "kvm", "rhel10.0"))
	for _, f := range c.Findings {
		if f.Rule == "matrix/unlisted" {
			if !strings.Contains(f.Message, "L1 RHEL 9.5 with KVM is not one of") || !strings.Contains(f.Message, "RHEL 9.6 and later") {
				t.Errorf("message does not explain the miss: %s", f.Message)
			}
			return
		}
	}
	t.Fatal("no matrix/unlisted finding")
}

func TestFileVerdictIsTheWorstChain(t *testing.T) {
	topo, err := topology.Parse("lab.yaml", []byte(`host:
  os: rhel10.0
  guests:
    - name: wsl
      os: win11
      hypervisor: wsl2
      guests: [{name: ubuntu, os: ubuntu24.04}]
    - name: lab
      os: rhel10.0
      guests: [{name: inner, os: rhel9.4}]
`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Judge(policy.Default(), topo)
	if err != nil {
		t.Fatal(err)
	}
	if *res.Verdict != policy.Unsupported || res.Chains[0].Verdict != policy.Supported || res.Chains[1].Verdict != policy.Unsupported {
		t.Errorf("verdicts: file %s, chains %s %s", res.Verdict, res.Chains[0].Verdict, res.Chains[1].Verdict)
	}
}

func TestProductNamesAreWrittenAsTheirVendorsWriteThem(t *testing.T) {
	c := judgeOne(t, chain3("name: esxi-01\nhypervisor: esxi", "rhel10.0", "kvm", "rhel10.0"))
	for _, f := range c.Findings {
		if f.Rule == "non-kvm-l0" {
			if !strings.Contains(f.Message, "esxi-01 runs VMware ESXi, not RHEL-KVM") || strings.Contains(f.Message, "a esxi") {
				t.Errorf("message: %s", f.Message)
			}
			return
		}
	}
	t.Fatal("no non-kvm-l0 finding")
}

package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/topology"
)

// TestWhatThePageSaysIsJudgedWhereverItApplies: topologies written from the
// page alone, each with the verdict and the finding the page's sentence gives.
func TestWhatThePageSaysIsJudgedWhereverItApplies(t *testing.T) {
	tests := []struct {
		name, topo string
		verdict    policy.Level
		rule       string
	}{
		{"a Windows L2 with Hyper-V, no guests listed", `host: {os: rhel10.0, guests: [{name: l1, os: rhel10.0, guests: [{name: win, os: win2k22, hypervisor: hyper-v}]}]}`,
			policy.NotExpectedToWork, "l2-hypervisor"},
		{"a Linux L2 declared to run KVM, no guests listed", `host: {os: rhel10.0, guests: [{name: l1, os: rhel10.0, guests: [{name: lab, os: rhel10.0, hypervisor: kvm}]}]}`,
			policy.NotExpectedToWork, "l2-hypervisor"},
		{"a Linux L2 that runs nothing: a plain L2", `host: {os: rhel10.0, guests: [{name: l1, os: rhel10.0, guests: [{name: lab, os: rhel10.0}]}]}`,
			policy.TechPreview, ""},
		{"one L1 live-migrated from an AMD host with nesting on", `host: {os: rhel10.0, cpu: amd, guests: [{name: moving, os: rhel10.0, migrates: true}]}`,
			policy.DoesNotWork, "amd-migration"},
		{"the same L1 not migrated, on a host whose VMs migrate", `host: {os: rhel10.0, cpu: amd, migration: true, guests: [{name: pinned, os: rhel10.0, migrates: false}]}`,
			policy.Supported, ""},
		{"an IBM Z L1 backed by huge pages, nesting on", `host: {os: rhel10.0, arch: s390x, guests: [{name: big, os: rhel10.0, hugepages: true, guests: [{name: l2, os: rhel10.0}]}]}`,
			policy.DoesNotWork, "s390x-hugepages"},
		// The L1's own kvm backs l2 with huge pages; nesting is the L0's, so the two do not meet.
		{"an IBM Z L2 backed by huge pages on an L1 that hosts no L3", `host: {os: rhel10.0, arch: s390x, guests: [{name: l1, os: rhel10.0, guests: [{name: l2, os: rhel10.0, hugepages: true}]}]}`,
			policy.TechPreview, ""},
		{"OpenShift Virtualization on RHEL CoreOS", `host: {os: rhcos4.18, platform: openshift-virtualization, guests: [{name: l1, os: rhel10.0, guests: [{name: l2, os: rhel10.0}]}]}`,
			policy.Untested, "rh-offering"},
		{"a Windows 10 L1 of build 17134 with WSL2", `host: {os: rhel10.0, guests: [{name: win, os: win10, build: 17134, hypervisor: wsl2, guests: [{name: u, os: ubuntu24.04}]}]}`,
			policy.DoesNotWork, "wsl2-build"},
		{"a Windows 10 L1 of build 19045 with WSL2", `host: {os: rhel10.0, guests: [{name: win, os: win10, build: 19045, hypervisor: wsl2, guests: [{name: u, os: ubuntu24.04}]}]}`,
			policy.Supported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := judgeOne(t, tt.topo)
			if c.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s: %v", c.Verdict, tt.verdict, rules(c))
			}
			if tt.rule != "" && !slices.Contains(rules(c), tt.rule) {
				t.Errorf("%s did not fire: %v", tt.rule, rules(c))
			}
		})
	}
}

// TestServer2019WithWSL2SaysBothWhatRedHatListsAndWhatMicrosoftDocuments.
func TestServer2019WithWSL2SaysBothWhatRedHatListsAndWhatMicrosoftDocuments(t *testing.T) {
	c := judgeOne(t, chain3(rhel10Intel, "win2k19", "wsl2", "ubuntu24.04"))
	var f *policy.Finding
	for i := range c.Findings {
		if c.Findings[i].Rule == "ws2019-wsl2" {
			f = &c.Findings[i]
		}
	}
	if f == nil || c.Verdict != policy.DoesNotWork {
		t.Fatalf("%s %v", c.Verdict, rules(c))
	}
	for _, want := range []string{"Red Hat's supported-environments table lists Windows Server 2019", "Microsoft's documentation", "runs WSL 1 only"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("the message lacks %q: %s", want, f.Message)
		}
	}
	if strings.Contains(f.Source, "\"") || !strings.Contains(f.Source, "in nestvirt's words, not a quotation") || !strings.Contains(f.Source, "https://learn.microsoft.com/") {
		t.Errorf("Microsoft's documentation is shown as a quotation, or without its url: %s", f.Source)
	}
}

// TestPlanFieldsAreChecked: build is for Windows guests, migrates for L1s.
func TestPlanFieldsAreChecked(t *testing.T) {
	for text, want := range map[string]string{
		`host: {os: rhel10.0, guests: [{name: l1, os: rhel10.0, build: 19045}]}`:                                       "build is a Windows build number; RHEL 10.0 is not Windows",
		`host: {os: rhel10.0, guests: [{name: w, os: win10, build: 12}]}`:                                              "build 12 is not a Windows build number",
		`host: {os: rhel10.0, guests: [{name: l1, os: rhel10.0, guests: [{name: l2, os: rhel10.0, migrates: true}]}]}`: "migrates is for an L1",
	} {
		if _, err := topology.Parse("t.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", text, err, want)
		}
	}
}

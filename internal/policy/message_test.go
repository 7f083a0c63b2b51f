package policy

import (
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
)

func guestOS(t *testing.T, id string) facts.OS {
	t.Helper()
	o, err := osid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	return facts.OSOf(o)
}

// TestTheNearestTableIsExplainedInSentences: a miss lists the rows' guests with
// semicolons (a label holds commas: "Windows Server 2019 and later, before
// 2025"), each miss is a sentence, and an unknown OS is told what it must be.
func TestTheNearestTableIsExplainedInSentences(t *testing.T) {
	l0 := facts.L0{Name: "host", Seen: true, Hypervisor: "kvm", Platform: "rhel", Arch: "x86_64", CPU: "intel", Module: "kvm_intel", Nestable: true, Nested: true, OS: guestOS(t, "rhel10.0")}
	tests := []struct {
		name    string
		chain   Chain
		want    []string
		notWant []string
	}{
		{"an unlisted L1 and L2", Chain{Path: []string{"host", "u", "w"}, L0: l0, Guests: []facts.Guest{
			{Present: true, Name: "u", OS: guestOS(t, "ubuntu24.04"), Runs: "kvm", RunsStated: true, Exposes: true},
			{Present: true, Name: "w", OS: guestOS(t, "win11"), Runs: "none"}}},
			[]string{"table. L1 Ubuntu 24.04 with KVM is not one of: ", "; RHEL 10.0 and later; ", ". L2 Windows 11 is not one of: "},
			[]string{"later, RHEL", "later, Windows"}},
		{"an L2 of unknown OS", Chain{Path: []string{"host", "u", "w"}, L0: l0, Unknown: []string{"l2.os"}, Guests: []facts.Guest{
			{Present: true, Name: "u", OS: guestOS(t, "ubuntu24.04"), Runs: "kvm", RunsStated: true, Exposes: true},
			{Present: true, Name: "w", Runs: "none"}}},
			[]string{"The L2's OS (unknown) must be one of: "},
			[]string{"is one of"}},
	}
	p := Default()
	for _, tt := range tests {
		r, err := p.JudgeChain(tt.chain)
		if err != nil {
			t.Fatal(err)
		}
		var msg string
		for _, f := range r.Findings {
			if f.Rule == "matrix/unlisted" {
				msg = f.Message
			}
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: no %q in %q", tt.name, w, msg)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(msg, w) {
				t.Errorf("%s: %q in %q", tt.name, w, msg)
			}
		}
	}
}

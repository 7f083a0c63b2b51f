package judge

import (
	"os"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// Replies recorded from qemu-guest-agent through libvirt (virsh guestinfo --os).
var (
	agentWS2019 = map[string]string{"os.id": "mswindows", "os.name": "Microsoft Windows", "os.pretty-name": "Windows Server 2019 Standard",
		"os.version": "Microsoft Windows Server 2019", "os.version-id": "2019", "os.variant": "server", "os.variant-id": "server",
		"os.kernel-release": "17763", "os.kernel-version": "10.0", "os.machine": "x86_64"}
	agentWin11 = map[string]string{"os.id": "mswindows", "os.name": "Microsoft Windows", "os.pretty-name": "Windows 10 Pro",
		"os.version": "Microsoft Windows 10", "os.version-id": "10", "os.variant": "client", "os.variant-id": "client",
		"os.kernel-release": "22631", "os.kernel-version": "10.0", "os.machine": "x86_64"}
)

// TestTheGuestAgentCanMakeAVerdictWorseNeverBetter: the declared OS (the
// admin's libosinfo metadata) decides; what the agent reports, which the guest
// controls, is judged too and counts only when it is worse; both are shown.
func TestTheGuestAgentCanMakeAVerdictWorseNeverBetter(t *testing.T) {
	raw, err := os.ReadFile("../domxml/testdata/win11-wsl2.xml")
	if err != nil {
		t.Fatal(err)
	}
	// What 'nestvirt annotate --runs wsl2' records: the VM runs WSL2.
	xml := strings.Replace(string(raw), "</libosinfo:libosinfo>",
		`</libosinfo:libosinfo><nestvirt:guest xmlns:nestvirt="https://nestvirt.dev/xmlns/libvirt/1"><nestvirt:runs>wsl2</nestvirt:runs><nestvirt:l2>ubuntu24.04</nestvirt:l2></nestvirt:guest>`, 1)
	// host-passthrough: VT-x reaches the VM.
	i, j := strings.Index(xml, "<cpu "), strings.Index(xml, "</cpu>")
	xml = xml[:i] + "<cpu mode='host-passthrough'/>" + xml[j+len("</cpu>"):]
	declared2019 := strings.Replace(xml, "http://microsoft.com/win/11", "http://microsoft.com/win/2k19", 1)
	host := probeDir(t, snapshots+"intel-l0-ready/root")
	rec := func(xml string, params map[string]string, agentErr string) domxml.Record {
		r := domxml.Record{Name: "win", State: "running", XML: []byte(xml), AgentErr: agentErr}
		if params != nil {
			a, ok := osid.AgentOSFromParams(params)
			if !ok {
				t.Fatal("recorded reply without os.id")
			}
			r.Agent = &a
		}
		return r
	}
	for _, c := range []struct {
		name      string
		rec       domxml.Record
		os, agent string // the declared OS, and the agent's ("" when none)
		note      string
		verdict   policy.Level
		rule      string // fired in the chains judged with the agent's OS
	}{
		{"declared Windows 11, the agent says Server 2019: worse, counted", rec(xml, agentWS2019, ""), "win11", "win2k19", "the guest agent reports Windows Server 2019 Standard, build 17763; declared: win11 (libosinfo); judged does-not-work by the agent's report", policy.DoesNotWork, "ws2019-wsl2"},
		{"declared Server 2019, the agent says Windows 11: no better", rec(declared2019, agentWin11, ""), "win2k19", "win11", "the guest agent reports Windows 10 Pro, build 22631; declared: win2k19 (libosinfo); the agent's report makes the verdict no worse, and a guest cannot make it better", policy.DoesNotWork, ""},
		{"the agent names the declared OS by its build", rec(xml, agentWin11, ""), "win11", "win11", "the guest agent reports Windows 10 Pro, build 22631; declared: win11 (libosinfo)", policy.Supported, ""},
		{"no agent", rec(xml, nil, "argument unsupported: QEMU guest agent is not configured"), "win11", "", "declared OS only (win11 (libosinfo)): the guest agent did not answer: argument unsupported", policy.Supported, ""},
		{"not asked", rec(xml, nil, ""), "win11", "", "", policy.Supported, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := VMs(policy.Default(), host, []domxml.Record{c.rec}, nil)
			v := a.VMs[0]
			if v.OS == nil || *v.OS != c.os || v.OSFrom != "libosinfo" || !strings.HasPrefix(v.OSNote, c.note) || (c.note == "" && v.OSNote != "") {
				t.Errorf("os %v from %q, note %q", deref(v.OS), v.OSFrom, v.OSNote)
			}
			if (c.agent == "") != (v.AgentOS == nil) || (v.AgentOS != nil && *v.AgentOS != c.agent) {
				t.Errorf("agent os %v, want %q", deref(v.AgentOS), c.agent)
			}
			if v.Error != "" || v.Verdict != c.verdict {
				t.Errorf("verdict %s (error %q), want %s", v.Verdict, v.Error, c.verdict)
			}
			if c.rule != "" && !strings.Contains(fired(v.AgentChains), c.rule) {
				t.Errorf("%s did not fire by the agent's report: %s", c.rule, fired(v.AgentChains))
			}
			if c.agent == c.os && v.AgentChains != nil {
				t.Errorf("judged again although the agent agrees with the declared OS")
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func fired(chains []policy.ChainResult) string {
	var out []string
	for _, ch := range chains {
		for _, f := range ch.Findings {
			if !f.Undetermined {
				out = append(out, f.Rule)
			}
		}
	}
	return strings.Join(out, " ")
}

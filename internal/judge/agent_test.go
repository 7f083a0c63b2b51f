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

// TestTheGuestAgentsOSIsJudged: vms judges the chain with the Windows build the
// agent reports, says when it only has the declared OS, and never fails for a
// domain without an agent.
func TestTheGuestAgentsOSIsJudged(t *testing.T) {
	raw, err := os.ReadFile("../domxml/testdata/win11-wsl2.xml")
	if err != nil {
		t.Fatal(err)
	}
	// What 'nestvirt annotate --runs wsl2' records: the VM runs WSL2.
	xml := []byte(strings.Replace(string(raw), "</libosinfo:libosinfo>",
		`</libosinfo:libosinfo><nestvirt:guest xmlns:nestvirt="https://nestvirt.dev/xmlns/libvirt/1"><nestvirt:runs>wsl2</nestvirt:runs><nestvirt:l2>ubuntu24.04</nestvirt:l2></nestvirt:guest>`, 1))
	// host-passthrough: VT-x reaches the VM.
	i, j := strings.Index(string(xml), "<cpu "), strings.Index(string(xml), "</cpu>")
	xml = []byte(string(xml[:i]) + "<cpu mode='host-passthrough'/>" + string(xml[j+len("</cpu>"):]))
	host := probeDir(t, snapshots+"intel-l0-ready/root")
	rec := func(params map[string]string, agentErr string) domxml.Record {
		r := domxml.Record{Name: "win", State: "running", XML: xml, AgentErr: agentErr}
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
		name    string
		rec     domxml.Record
		os      string
		from    string
		note    string
		verdict policy.Level
		rule    string
	}{
		{"declared Windows 11, runs Server 2019", rec(agentWS2019, ""), "win2k19", "guest agent", "the guest agent reports Windows Server 2019 Standard, build 17763; declared: win11", policy.DoesNotWork, "ws2019-wsl2"},
		{"agent names 11 by its build", rec(agentWin11, ""), "win11", "guest agent", "the guest agent reports Windows 10 Pro, build 22631", policy.Supported, ""},
		{"no agent", rec(nil, "Guest agent is not responding: QEMU guest agent is not connected"), "win11", "libosinfo", "declared OS only (win11 (libosinfo)): the guest agent did not answer: Guest agent is not responding", policy.Supported, ""},
		{"not asked", rec(nil, ""), "win11", "libosinfo", "", policy.Supported, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := VMs(policy.Default(), host, []domxml.Record{c.rec}, nil)
			v := a.VMs[0]
			if v.OS == nil || *v.OS != c.os || v.OSFrom != c.from || !strings.HasPrefix(v.OSNote, c.note) || (c.note == "" && v.OSNote != "") {
				t.Errorf("os %v from %q, note %q", v.OS, v.OSFrom, v.OSNote)
			}
			if v.Error != "" || v.Verdict != c.verdict {
				t.Errorf("verdict %s (error %q), want %s", v.Verdict, v.Error, c.verdict)
			}
			if c.rule != "" && !strings.Contains(fired(v), c.rule) {
				t.Errorf("%s did not fire: %s", c.rule, fired(v))
			}
		})
	}
}

func fired(v VMResult) string {
	var out []string
	for _, ch := range v.Chains {
		for _, f := range ch.Findings {
			if !f.Undetermined {
				out = append(out, f.Rule)
			}
		}
	}
	return strings.Join(out, " ")
}

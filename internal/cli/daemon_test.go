package cli

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// fakeDaemon answers as libvirt would, from records a test gives; commands are
// tested against it as well as against the real daemon (the integration tests).
type fakeDaemon struct {
	recs   []domxml.Record
	agents map[string]map[string]string // recorded guest-agent replies by domain
	local  bool
}

func (f *fakeDaemon) Domains() ([]libvirt.Domain, error) {
	var out []libvirt.Domain
	for _, r := range f.recs {
		out = append(out, libvirt.Domain{Name: r.Name, Active: r.State == "running"})
	}
	return out, nil
}
func (f *fakeDaemon) Lookup(name string) (libvirt.Domain, error) {
	for _, r := range f.recs {
		if r.Name == name {
			return libvirt.Domain{Name: name}, nil
		}
	}
	return libvirt.Domain{}, libvirt.ErrNoDomain
}
func (f *fakeDaemon) ReadAll(int) ([]domxml.Record, error) {
	return append([]domxml.Record(nil), f.recs...), nil
}
func (f *fakeDaemon) HostModel() func(string, string) (bool, error) { return nil }
func (f *fakeDaemon) Edit(string, libvirt.EditOptions, func([]byte) (domxml.Result, error)) (libvirt.Change, error) {
	return libvirt.Change{}, errors.New("the fake does not edit")
}
func (f *fakeDaemon) Annotate(string, string, []string, string) (domxml.Annotation, error) {
	return domxml.Annotation{}, errors.New("the fake does not annotate")
}
func (f *fakeDaemon) AskAgents(recs []domxml.Record, _ int) {
	for i := range recs {
		if recs[i].State != "running" {
			continue
		}
		if p, ok := f.agents[recs[i].Name]; ok {
			a, _ := osid.AgentOSFromParams(p)
			recs[i].Agent = &a
		} else {
			recs[i].AgentErr = "Guest agent is not responding: QEMU guest agent is not connected"
		}
	}
}
func (f *fakeDaemon) Where() (string, bool) { return "qemu:///system", f.local }
func (f *fakeDaemon) Close() error          { return nil }

func withDial(t *testing.T, fn func(libvirt.Options) (daemon, error)) {
	old := dial
	dial = fn
	t.Cleanup(func() { dial = old })
}

// TestVMsWithTheGuestAgentsAnswer: vms judges with the Windows build the agent
// reports, marks it, says what was declared, and keeps the declared OS where
// no agent answers; a read-write connection that fails leaves a note, not an
// error; a daemon that cannot be reached is a failed dependency (exit 3).
func TestVMsWithTheGuestAgentsAnswer(t *testing.T) {
	raw, err := os.ReadFile("../domxml/testdata/win11-wsl2.xml")
	if err != nil {
		t.Fatal(err)
	}
	xml := strings.Replace(string(raw), "</libosinfo:libosinfo>", `</libosinfo:libosinfo><nestvirt:guest xmlns:nestvirt="https://nestvirt.dev/xmlns/libvirt/1"><nestvirt:runs>wsl2</nestvirt:runs><nestvirt:l2>ubuntu24.04</nestvirt:l2></nestvirt:guest>`, 1)
	win := func(name string) domxml.Record {
		return domxml.Record{Name: name, State: "running", XML: []byte(strings.Replace(xml, "<name>nv-win11</name>", "<name>"+name+"</name>", 1))}
	}
	f := &fakeDaemon{local: true, recs: []domxml.Record{win("ws2019"), win("noagent")}, agents: map[string]map[string]string{
		"ws2019": {"os.id": "mswindows", "os.pretty-name": "Windows Server 2019 Standard", "os.variant-id": "server", "os.kernel-release": "17763", "os.version-id": "2019"},
	}}
	withDial(t, func(libvirt.Options) (daemon, error) { return f, nil })
	root := snapshots + "intel-l0-ready/root"
	out, stderr, code := nv(t, "", "vms", "--root", root, "--color", "never")
	if code != ExitFindings {
		t.Errorf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"win2k19 (agent)", "os: the guest agent reports Windows Server 2019 Standard, build 17763; declared: win11", "ws2019-wsl2"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	js, _, _ := nv(t, "", "vms", "--root", root, "--format", "json")
	if !strings.Contains(js, `"os_note": "declared OS only (win11 (libosinfo)): the guest agent did not answer`) {
		t.Errorf("the VM without an agent says nothing about it:\n%s", js)
	}
	// --guest-agent=false: nothing is asked.
	out, _, _ = nv(t, "", "vms", "--root", root, "--guest-agent=false")
	if strings.Contains(out, "(agent)") {
		t.Errorf("--guest-agent=false asked:\n%s", out)
	}
	// The read-only connection works, the read-write one is refused.
	withDial(t, func(o libvirt.Options) (daemon, error) {
		if o.ReadOnly {
			return f, nil
		}
		return nil, &libvirt.ConnectError{URI: o.URI, Err: errors.New("authentication failed")}
	})
	out, _, _ = nv(t, "", "vms", "--root", root)
	if !strings.Contains(out, "the guest agents were not asked") {
		t.Errorf("no note on the refused read-write connection:\n%s", out)
	}
	withDial(t, func(o libvirt.Options) (daemon, error) {
		return nil, &libvirt.ConnectError{URI: o.URI, Err: errors.New("dial unix /run/libvirt/libvirt-sock: connect: no such file or directory")}
	})
	_, stderr, code = nv(t, "", "vms", "--root", root)
	if code != ExitDependency || !strings.Contains(stderr, "no such file") {
		t.Errorf("an unreachable daemon: exit %d, %s", code, stderr)
	}
}

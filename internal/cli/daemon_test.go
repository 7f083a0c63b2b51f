package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// recording is what a real libvirtd answered (testdata/daemon, written by
// TestIntegrationTheRecordedDaemonIsTheRealOne with -record, and checked against
// the live daemon by the same test without it): each domain's XML as
// virDomainGetXMLDesc returned it, its state, what asking its guest agent gave,
// and the daemon's capabilities.
type recording struct {
	Recorded     string            `json:"recorded"`
	Capabilities string            `json:"capabilities"` // a file under testdata/daemon
	Domains      []recordedDomain  `json:"domains"`
	Agents       map[string]string `json:"-"`
}

type recordedDomain struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	XML        string `json:"xml"` // a file under testdata/daemon
	AgentError string `json:"agent_error,omitempty"`
}

const recordingDir = "testdata/daemon"

func loadRecording(t *testing.T) recording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(recordingDir, "recording.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r recording
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// replay is a daemon that answers from a recording: the domains, their XML and
// states, their agents' answers and the capabilities are the real daemon's;
// which domains are asked is decided by the code the real one runs
// (libvirt.AskEach); an edit is applied to the recorded XML as libvirt would
// define it.
type replay struct {
	recs  []domxml.Record
	caps  []byte
	local bool
	// agents answers for the guest agents the recording has no reply of: recorded
	// replies (osid's testdata) given by a test, by domain name.
	agents   map[string]map[string]string
	agentErr map[string]string
}

// recordedDaemon is the recorded daemon, with more domains a test adds.
func recordedDaemon(t *testing.T, local bool, extra ...domxml.Record) *replay {
	t.Helper()
	r := loadRecording(t)
	caps, err := os.ReadFile(filepath.Join(recordingDir, r.Capabilities))
	if err != nil {
		t.Fatal(err)
	}
	d := &replay{caps: caps, local: local, agents: map[string]map[string]string{}, agentErr: map[string]string{}}
	for _, rd := range r.Domains {
		x, err := os.ReadFile(filepath.Join(recordingDir, rd.XML))
		if err != nil {
			t.Fatal(err)
		}
		d.recs = append(d.recs, domxml.Record{Name: rd.Name, State: rd.State, XML: x})
		d.agentErr[rd.Name] = rd.AgentError
	}
	d.recs = append(d.recs, extra...)
	return d
}

// agentError is the error the real daemon gave for a running domain without an
// agent, which every running domain the recording has no reply for gets.
func (f *replay) agentError() string {
	for _, e := range f.agentErr {
		if e != "" {
			return e
		}
	}
	return "the recording holds no agent error"
}

func (f *replay) find(name string) int {
	for i, r := range f.recs {
		if r.Name == name {
			return i
		}
	}
	return -1
}

func (f *replay) Domains() ([]libvirt.Domain, error) {
	var out []libvirt.Domain
	for _, r := range f.recs {
		out = append(out, libvirt.Domain{Name: r.Name, Active: r.State == "running"})
	}
	return out, nil
}

func (f *replay) Lookup(name string) (libvirt.Domain, error) {
	if i := f.find(name); i >= 0 {
		return libvirt.Domain{Name: name, Active: f.recs[i].State == "running"}, nil
	}
	return libvirt.Domain{}, libvirt.NoDomain(name, "test:///replay")
}

func (f *replay) ReadAll(int) ([]domxml.Record, error) {
	return append([]domxml.Record(nil), f.recs...), nil
}

func (f *replay) HostModel() func(string, string) (bool, error) { return nil }

func (f *replay) Edit(name string, o libvirt.EditOptions, fn func([]byte) (domxml.Result, error)) (libvirt.Change, error) {
	i := f.find(name)
	if i < 0 {
		return libvirt.Change{}, libvirt.NoDomain(name, "test:///replay")
	}
	res, err := fn(f.recs[i].XML)
	if err != nil {
		return libvirt.Change{}, err
	}
	ch := libvirt.Change{Domain: name, Active: f.recs[i].State == "running", Changed: res.Changed, Notes: res.Notes,
		Before: domxml.MaskSecrets(f.recs[i].XML), After: domxml.MaskSecrets(res.XML)}
	if res.Changed && !o.DryRun {
		f.recs[i].XML = res.XML
	}
	return ch, nil
}

func (f *replay) Annotate(string, string, []string, string) (domxml.Annotation, error) {
	return domxml.Annotation{}, errors.New("the replay does not annotate (the integration tests do, against the real daemon)")
}

func (f *replay) AskAgents(recs []domxml.Record, workers int) {
	libvirt.AskEach(recs, workers, func(name string) (osid.AgentOS, error) {
		if p, ok := f.agents[name]; ok {
			if a, ok := osid.AgentOSFromParams(p); ok {
				return a, nil
			}
			return osid.AgentOS{}, errors.New("the agent reports no OS id")
		}
		if e := f.agentErr[name]; e != "" {
			return osid.AgentOS{}, errors.New(e)
		}
		return osid.AgentOS{}, errors.New(f.agentError())
	})
}

func (f *replay) Where() (string, bool) {
	if f.local {
		return "qemu:///system", true
	}
	return "qemu+ssh://other/system", false
}

func (f *replay) Host() (libvirt.HostCPU, error) { return libvirt.HostOf(f.caps) }
func (f *replay) Close() error                   { return nil }

// dialing is a daemon dialer for nv: the commands it runs reach fn's daemon.
type dialing func(libvirt.Options) (daemon, error)

// nv runs nestvirt as nv does, its libvirt connections going to d.
func (d dialing) nv(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return nvApp(t, &app{dial: d, getenv: func(k string) string { return map[string]string{"LANG": "C.UTF-8"}[k] }}, stdin, args...)
}

// withVendor is the recording's capabilities with another CPU vendor: the same
// daemon on an Intel host.
func (f *replay) withVendor(vendor string) *replay {
	f.caps = []byte(strings.Replace(string(f.caps), "<vendor>AMD</vendor>", "<vendor>"+vendor+"</vendor>", 1))
	return f
}

// TestVMsWithTheGuestAgentsAnswer: with --guest-agent, vms asks the agents of
// the running domains (on a read-write connection of its own); the agent's
// answer can make a verdict worse, never better than the declared OS allows, and
// both are shown; a read-write connection that fails leaves a note, not an
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
	f := recordedDaemon(t, true, win("ws2019"), win("noagent"))
	// What virDomainGetGuestInfo returns for Windows Server 2019 (osid's recorded replies).
	f.agents["ws2019"] = map[string]string{"os.id": "mswindows", "os.pretty-name": "Windows Server 2019 Standard", "os.variant-id": "server", "os.kernel-release": "17763", "os.version-id": "2019"}
	d := dialing(func(libvirt.Options) (daemon, error) { return f, nil })
	root := snapshots + "intel-l0-ready/root"
	out, stderr, code := d.nv(t, "", "vms", "--root", root, "--color", "never", "--guest-agent")
	if code != ExitFindings {
		t.Errorf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"ws2019-wsl2", "the guest agent reports Windows Server 2019 Standard, build 17763"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	js, _, _ := d.nv(t, "", "vms", "--root", root, "--format", "json", "--guest-agent")
	if !strings.Contains(js, `"os_note": "declared OS only (win11 (libosinfo)): the guest agent did not answer: `+f.agentError()) {
		t.Errorf("the VM without an agent does not say so:\n%s", js)
	}
	// By default no agent is asked: the read-only connection is all vms opens.
	d = dialing(func(o libvirt.Options) (daemon, error) {
		if !o.ReadOnly {
			t.Errorf("a read-write connection was opened without --guest-agent")
		}
		return f, nil
	})
	if out, _, _ = d.nv(t, "", "vms", "--root", root); strings.Contains(out, "guest agent reports") {
		t.Errorf("an agent was asked by default:\n%s", out)
	}
	// The read-only connection works, the read-write one is refused.
	d = dialing(func(o libvirt.Options) (daemon, error) {
		if o.ReadOnly {
			return f, nil
		}
		return nil, &libvirt.ConnectError{URI: o.URI, Err: errors.New("authentication failed")}
	})
	out, _, _ = d.nv(t, "", "vms", "--root", root, "--guest-agent")
	if !strings.Contains(out, "the guest agents were not asked") {
		t.Errorf("no note on the refused read-write connection:\n%s", out)
	}
	d = dialing(func(o libvirt.Options) (daemon, error) {
		return nil, &libvirt.ConnectError{URI: o.URI, Err: errors.New("dial unix /run/libvirt/libvirt-sock: connect: no such file or directory")}
	})
	_, stderr, code = d.nv(t, "", "vms", "--root", root)
	if code != ExitDependency || !strings.Contains(stderr, "no such file") {
		t.Errorf("an unreachable daemon: exit %d, %s", code, stderr)
	}
}

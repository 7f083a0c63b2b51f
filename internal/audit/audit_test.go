package audit

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// daemon is a libvirt daemon on a host with an AMD CPU that answers from
// files: one shut-off domain (the repository's domxml testdata).
type daemon struct {
	uri  string
	this bool
	xml  []byte
}

func (d daemon) ReadAll(int) ([]domxml.Record, error) {
	return []domxml.Record{{Name: "nv-plain", State: "shut off", XML: d.xml}}, nil
}
func (d daemon) HostModel() func(arch, feature string) (bool, error) { return nil }
func (d daemon) AskAgents([]domxml.Record, int)                      {}
func (d daemon) Host() (libvirt.HostCPU, error) {
	return libvirt.HostCPU{Arch: "x86_64", Vendor: "amd"}, nil
}
func (d daemon) Where() (string, bool) { return d.uri, d.this }
func (d daemon) Close() error          { return nil }

func dialer(d daemon) func(libvirt.Options) (Daemon, error) {
	return func(libvirt.Options) (Daemon, error) { return d, nil }
}

// TestAnotherHostsFactsAreNeverThisMachines: for a remote daemon (or the test
// driver) this machine is not read at all; its host.yaml's `migration: false`
// hid the AMD migration finding of the remote AMD host, and a broken one
// failed the remote audit with exit 2. What was stated for that host (flags,
// its own host.yaml) is used.
func TestAnotherHostsFactsAreNeverThisMachines(t *testing.T) {
	xml, err := os.ReadFile("../domxml/testdata/plain.xml")
	if err != nil {
		t.Fatal(err)
	}
	no := false
	thisMachine := func() (probe.Facts, error) {
		t.Error("this machine was read for another host's daemon")
		return probe.Facts{Stated: probe.Stated{Migration: &no, From: []string{"/etc/nestvirt/host.yaml:1"}}}, errors.New("/etc/nestvirt/host.yaml:1:12: migration: must be true or false")
	}
	for _, uri := range []string{"qemu+ssh://amd-host/system", "qemu+tcp://amd-host/system", "test:///default"} {
		t.Run(uri, func(t *testing.T) {
			r, err := Run(policy.Default(), Options{Dial: dialer(daemon{uri: uri, xml: xml}), URI: uri, Local: thisMachine, Root: "/"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Host.Stated.Migration != nil || len(r.Host.Stated.From) != 0 || probe.Str(r.Host.CPUVendor) != "amd" {
				t.Errorf("the host's facts: stated %+v, vendor %v", r.Host.Stated, probe.Str(r.Host.CPUVendor))
			}
			if !strings.Contains(strings.Join(r.Audit.Notes, "\n"), uri+" is another host") {
				t.Errorf("notes: %q", r.Audit.Notes)
			}
			yes := true
			stated, err := Run(policy.Default(), Options{Dial: dialer(daemon{uri: uri, xml: xml}), URI: uri, Local: thisMachine, Root: "/",
				Stated: probe.Stated{Migration: &yes, From: []string{"migration: --migrates yes"}}})
			if err != nil {
				t.Fatal(err)
			}
			if stated.Host.Stated.Migration == nil || !*stated.Host.Stated.Migration {
				t.Errorf("what was stated for that host is not used: %+v", stated.Host.Stated)
			}
		})
	}
}

// TestThisMachinesDaemonIsJudgedWithThisMachinesFacts: for this machine's own
// daemon the local facts (with host.yaml) are the host's; a host.yaml that is
// not valid is returned as the audit's error, with the audit made.
func TestThisMachinesDaemonIsJudgedWithThisMachinesFacts(t *testing.T) {
	xml, _ := os.ReadFile("../domxml/testdata/plain.xml")
	x86, amd, no := "x86_64", "amd", false
	broken := errors.New("host.yaml: not valid")
	local := func() (probe.Facts, error) {
		return probe.Facts{Arch: &x86, CPUVendor: &amd, Stated: probe.Stated{Migration: &no, From: []string{"host.yaml:1"}}}, broken
	}
	r, err := Run(policy.Default(), Options{Dial: dialer(daemon{uri: "qemu:///system", this: true, xml: xml}), URI: "qemu:///system", Local: local, Root: "/"})
	if !errors.Is(err, broken) || len(r.Audit.VMs) != 1 || r.Host.Stated.Migration == nil {
		t.Errorf("%v: %d VMs, stated %+v", err, len(r.Audit.VMs), r.Host.Stated)
	}
	if _, err := Run(policy.Default(), Options{Dial: dialer(daemon{uri: "qemu+ssh://h/system", xml: xml}), URI: "qemu+ssh://h/system", Local: local, ThisMachine: true}); !errors.Is(err, ErrOtherMachine) {
		t.Errorf("check --vms of another host: %v", err)
	}
}

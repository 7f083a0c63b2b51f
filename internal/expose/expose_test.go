package expose

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
)

const snapshots = "../probe/testdata/snapshots/"

func plain(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../domxml/testdata/plain.xml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A file is exposed with the vendor given, else the host's: an AMD snapshot's
// svm, an Intel one's vmx; unexpose puts back what expose replaced.
func TestFileTakesTheHostsVendor(t *testing.T) {
	for _, tt := range []struct {
		name, vendor, root, want string
	}{
		{"given", "intel", "", "vmx"},
		{"an AMD host's", "", snapshots + "amd-l0-nested/root", "svm"},
		{"an Intel host's", "", snapshots + "intel-l0-ready/root", "vmx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, said, err := File(plain(t), Options{Vendor: tt.vendor, Root: tt.root, Hyperv: "auto", Facts: inspect.HostFacts})
			if err != nil {
				t.Fatal(err)
			}
			if len(said.HostNotes)+len(said.Warnings) != 0 {
				t.Errorf("said %+v", said)
			}
			if x := string(res.XML); !strings.Contains(x, "host-passthrough") && !strings.Contains(x, "name='"+tt.want+"'") {
				t.Errorf("not exposed with %s:\n%s", tt.want, x)
			}
			back, _, err := File(res.XML, Options{Undo: true})
			if err != nil || string(back.XML) != string(plain(t)) {
				t.Errorf("unexpose: %v\n%s", err, back.XML)
			}
		})
	}
}

// A host.yaml that cannot be used is a note, never a refusal: what was probed
// still gives the vendor.
func TestFileGoesOnWithoutABrokenHostYAML(t *testing.T) {
	facts := func(root string) (probe.Facts, error) {
		f, _ := inspect.HostFacts(snapshots + "amd-l0-nested/root")
		return f, &stated.Error{Err: errors.New("host.yaml:1: migration: give true or false")}
	}
	res, said, err := File(plain(t), Options{Hyperv: "auto", Facts: facts})
	if err != nil || len(said.HostNotes) != 1 || !strings.Contains(said.HostNotes[0], "what it states is unknown here") {
		t.Fatalf("%v %+v", err, said)
	}
	if !strings.Contains(string(res.XML), "host-passthrough") && !strings.Contains(string(res.XML), "svm") {
		t.Errorf("not exposed:\n%s", res.XML)
	}
	failing := func(string) (probe.Facts, error) { return probe.Facts{}, errors.New("cannot read /") }
	if _, _, err := File(plain(t), Options{Hyperv: "auto", Facts: failing}); err == nil || err.Error() != "cannot read /" {
		t.Errorf("facts that cannot be read: %v", err)
	}
}

// daemon is this machine's libvirt, holding plain.xml as dom.
type daemon struct {
	xml     []byte
	defined []byte
}

func (d *daemon) ReadAll(int) ([]domxml.Record, error)                { return nil, nil }
func (d *daemon) HostModel() func(arch, feature string) (bool, error) { return nil }
func (d *daemon) AskAgents([]domxml.Record, int)                      {}
func (d *daemon) Host() (libvirt.HostCPU, error)                      { return libvirt.HostCPU{}, nil }
func (d *daemon) Where() (string, bool)                               { return "qemu:///system", true }
func (d *daemon) Close() error                                        { return nil }
func (d *daemon) Edit(name string, o libvirt.EditOptions, fn func([]byte) (domxml.Result, error)) (libvirt.Change, error) {
	res, err := fn(d.xml)
	if err != nil {
		return libvirt.Change{}, err
	}
	d.defined = res.XML
	return libvirt.Change{Changed: true, Before: d.xml, After: res.XML}, nil
}

// Through libvirt, the host decides: one that can nest gets the domain
// edited; one that cannot is refused, and nothing is defined.
func TestDomainIsDecidedByItsHost(t *testing.T) {
	for _, tt := range []struct {
		snapshot string
		refused  bool
	}{
		{"amd-l0-nested", false},
		{"intel-l0-nesting-off", true},
		{"pvm", true},
		{"aarch64-no-kvm", true},
	} {
		t.Run(tt.snapshot, func(t *testing.T) {
			d := &daemon{xml: plain(t)}
			_, _, err := Domain(d, "dom", libvirt.EditOptions{}, Options{Root: snapshots + tt.snapshot + "/root", Hyperv: "auto", Facts: inspect.HostFacts})
			var r fault.Refused
			if errors.As(err, &r) != tt.refused || !tt.refused && err != nil {
				t.Fatalf("refused %v: %v", tt.refused, err)
			}
			if (d.defined == nil) != tt.refused {
				t.Errorf("defined: %s", d.defined)
			}
		})
	}
}

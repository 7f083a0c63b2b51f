package domxml

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExposureFollowsTheCPUModeAndTheHost(t *testing.T) {
	caps := string(read(t, "domcaps-x86_64-amd-pvm.xml")) // captured from a PVM host: host-model has no svm
	hostModel := func(arch, feat string) (bool, error) { return HostModelRequires(caps, feat) }
	amd := HostCPU{Arch: "x86_64", Vendor: "amd", VirtExt: "svm"}
	pvm := HostCPU{Arch: "x86_64", Vendor: "amd"}
	tests := []struct {
		file    string
		host    HostCPU
		mode    string
		exposes bool
		why     string
	}{
		{"win11-wsl2.xml", amd, "custom", false, "<feature policy='disable' name='svm'/> hides it"},
		{"rhel-lab.xml", amd, "host-passthrough", true, "passes the host's svm through"},
		{"rhel-lab.xml", pvm, "host-passthrough", false, "the host shows no svm"},
		{"plain.xml", amd, "none", false, "default CPU model"},
		{"hostmodel.xml", amd, "host-model", false, "the host-model CPU lacks svm"},
	}
	for _, tt := range tests {
		v, err := ReadVM(read(t, tt.file), tt.host, hostModel)
		if err != nil {
			t.Fatal(err)
		}
		if v.CPUMode != tt.mode || v.Exposes == nil || *v.Exposes != tt.exposes || !strings.Contains(v.Why, tt.why) {
			t.Errorf("%s on %+v: mode %s exposes %v (%s)", tt.file, tt.host, v.CPUMode, v.Exposes, v.Why)
		}
	}
}

func TestHostModelReadsDomainCapabilities(t *testing.T) {
	caps := string(read(t, "domcaps-x86_64-amd-pvm.xml"))
	for feat, want := range map[string]bool{"svm": false, "x2apic": true, "pni": false} {
		got, err := HostModelRequires(caps, feat)
		if err != nil || got != want {
			t.Errorf("%s: %v %v", feat, got, err)
		}
	}
	if _, err := HostModelRequires("<domainCapabilities/>", "vmx"); err == nil {
		t.Error("capabilities without CPU modes accepted")
	}
}

func TestFactsReadOSHugepagesAndAnnotation(t *testing.T) {
	v, err := ReadVM(read(t, "rhel-lab.xml"), HostCPU{Arch: "x86_64", Vendor: "intel", VirtExt: "vmx"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.OS == nil || *v.OS != "rhel9.6" || v.OSFrom != "libosinfo" || !v.Huge || v.Runs != "none" || v.Type != "kvm" || v.Platform != "rhel" {
		t.Errorf("%+v", v)
	}
	if _, err := ReadVM([]byte("<domain><name>x</name>"), HostCPU{}, nil); err == nil {
		t.Error("truncated XML accepted")
	}
	nova := []byte(`<domain type='qemu'><name>instance-1</name><metadata><nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1"/></metadata><os><type arch='x86_64'>hvm</type></os></domain>`)
	if v, err := ReadVM(nova, HostCPU{Arch: "x86_64", Vendor: "intel"}, nil); err != nil || v.Platform != "openstack" || v.Type != "qemu" {
		t.Errorf("nova domain: %+v %v", v, err)
	}
	if v, err := ReadVM(read(t, "plain.xml"), HostCPU{Arch: "x86_64"}, nil); err != nil || v.Exposes != nil || !strings.Contains(v.Why, "vendor is unknown") {
		t.Errorf("an unknown host vendor must leave exposure unknown: %+v %v", v, err)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	in := `<graphics type='vnc' passwd='s3cr3tpw'/><graphics type="spice" passwd="other"/><auth password='p'/><graphics type='vnc' passwd = "spaced"/><g passwd
	='newline'/>`
	out := string(MaskSecrets([]byte(in)))
	for _, secret := range []string{"s3cr3tpw", "other", "'p'", "spaced", "newline"} {
		if strings.Contains(out, secret) {
			t.Errorf("%s leaked: %s", secret, out)
		}
	}
	if strings.Count(out, "***") != 5 {
		t.Errorf("%s", out)
	}
}

// FuzzReadVM: no domain XML panics the reader; what it reads back never holds a
// password the XML carried.
func FuzzReadVM(f *testing.F) {
	for _, name := range []string{"plain.xml", "win11-wsl2.xml"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<domain type='kvm'><name>x</name><cpu mode='host-passthrough'/><os><type arch='s390x'>hvm</type></os><metadata><nestvirt:l2 xmlns:nestvirt='https://nestvirt.dev/xmlns/1'>rhel10.0</nestvirt:l2></metadata><devices><graphics passwd='hunter2'/></devices></domain>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := ReadVM(raw, HostCPU{Arch: "x86_64", Vendor: "intel", VirtExt: "vmx"}, nil)
		if err != nil {
			return
		}
		if strings.Contains(v.Name+v.Why+v.Error, "hunter2") {
			t.Fatalf("a password reached the facts: %+v", v)
		}
	})
}

// TestNestvirtsRecordIsReadWithinItsBounds: a record over a bound (its size,
// the number of L2 guests, a value's length) is not read, and the VM says why;
// what it would have said is unknown (runs ""), the rest of the domain is read.
func TestNestvirtsRecordIsReadWithinItsBounds(t *testing.T) {
	record := func(inner string) []byte {
		return []byte("<domain type='kvm'><name>g</name><metadata><nestvirt:guest xmlns:nestvirt='https://nestvirt.dev/xmlns/libvirt/1'>" + inner + "</nestvirt:guest></metadata><os><type arch='x86_64'>hvm</type></os><cpu mode='host-passthrough'/></domain>")
	}
	l2 := func(n int) string {
		return "<nestvirt:runs>kvm</nestvirt:runs>" + strings.Repeat("<nestvirt:l2>rhel9.4</nestvirt:l2>", n)
	}
	for _, tt := range []struct {
		name, inner, note string
		runs              string
		l2                int
	}{
		{"64 L2 guests are read", l2(64), "", "kvm", 64},
		{"65 are not", l2(65), "65 L2 guests; the limit is 64", "", 0},
		{"a long value is not", "<nestvirt:runs>" + strings.Repeat("k", 300) + "</nestvirt:runs>", "a value is 300 bytes; the limit is 256", "", 0},
		{"an oversized record is not", "<nestvirt:runs>kvm</nestvirt:runs><nestvirt:os>" + strings.Repeat(" ", MaxAnnotation) + "</nestvirt:os>", "the record is", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ReadVM(record(tt.inner), HostCPU{Arch: "x86_64", Vendor: "intel", VirtExt: "vmx"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.Runs != tt.runs || len(v.L2) != tt.l2 || (tt.note == "") != (v.MetadataNote == "") || !strings.Contains(v.MetadataNote, tt.note) {
				t.Errorf("runs %q, %d L2, note %q", v.Runs, len(v.L2), v.MetadataNote)
			}
			if v.Exposes == nil || !*v.Exposes {
				t.Errorf("the rest of the domain was not read: exposes %v", v.Exposes)
			}
		})
	}
}

// FuzzScanAgreesWithTheParser: wherever encoding/xml reads a domain, the byte
// scan the facts use locates the same top-level elements and the same
// children of <metadata>, at the same offsets.
func FuzzScanAgreesWithTheParser(f *testing.F) {
	for _, file := range []string{"plain.xml", "rhel-lab.xml", "win11-wsl2.xml", "hostmodel.xml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", file)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<domain a='>' b="<x>"><!-- <cpu> --><name>n</name><![CDATA[<cpu/>]]><?pi <x>?><metadata><a:x xmlns:a='u'><y/></a:x><b:z xmlns:b="v"/></metadata><cpu mode='host-model'/></domain>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := parse(raw)
		if err != nil {
			return
		}
		root, top, err := scanDomain(raw)
		if err != nil {
			t.Fatalf("parse reads it, the scan does not: %v", err)
		}
		if root.start != d.Root.Start || len(top) != len(d.Top) {
			t.Fatalf("root at %d, %d top elements; parse: %d, %d", root.start, len(top), d.Root.Start, len(d.Top))
		}
		for i, e := range top {
			p := d.Top[i]
			if e.name != p.qname || e.start != p.Start || e.end != p.End || e.innerStart != p.InnerStart || e.innerEnd != p.InnerEnd {
				t.Fatalf("top %d: scan %q [%d %d %d %d], parse %q [%d %d %d %d]", i, e.name, e.start, e.innerStart, e.innerEnd, e.end, p.qname, p.Start, p.InnerStart, p.InnerEnd, p.End)
			}
			if e.name == "metadata" {
				if len(e.children) != len(p.Children) {
					t.Fatalf("metadata: %d children, parse %d", len(e.children), len(p.Children))
				}
				for j, c := range e.children {
					if c.start != p.Children[j].Start || c.end != p.Children[j].End {
						t.Fatalf("metadata child %d: [%d %d], parse [%d %d]", j, c.start, c.end, p.Children[j].Start, p.Children[j].End)
					}
				}
			}
		}
	})
}

package domxml

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/corpus"
)

func TestHostileXMLIsRefusedWithAReason(t *testing.T) {
	deep := "<domain>" + strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000) + "</domain>"
	big := append([]byte("<domain><name>x</name><description>"), bytes.Repeat([]byte("a"), 50<<20)...)
	big = append(big, "</description></domain>"...)
	tests := []struct {
		name, xml, want string
	}{
		{"external entity", `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/shadow">]><domain><name>&x;</name></domain>`, "DOCTYPE is not allowed"},
		{"billion laughs", `<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><domain><name>&b;</name></domain>`, "DOCTYPE is not allowed"},
		{"undeclared entity", `<domain><name>&x;</name></domain>`, "XML line 1"},
		{"deep nesting", deep, "deeper than 256"},
		{"50 MB", string(big), "limit is"},
		{"not a domain", `<network><name>default</name></network>`, "not a libvirt domain"},
		{"two roots", `<domain/><domain/>`, "not a libvirt domain"},
		{"truncated", `<domain><name>x</name><cpu mode='host-model'>`, "XML"},
		{"binary", "\x00\x01\x02<domain>", "XML"},
		{"no name", `<domain type='kvm'><memory>1</memory><os><type arch='x86_64'>hvm</type></os></domain>`, "has no <name>"},
		{"an empty name", `<domain type='kvm'><name> </name><os><type arch='x86_64'>hvm</type></os></domain>`, "has no <name>"},
		{"two names", `<domain type='kvm'><name>a</name><name>b</name><os><type arch='x86_64'>hvm</type></os></domain>`, "2 <name> elements"},
		{"two cpus", `<domain type='kvm'><name>a</name><os><type arch='x86_64'>hvm</type></os><cpu mode='custom'><model>EPYC</model></cpu><cpu mode='host-model'/></domain>`, "2 <cpu> elements"},
		{"a cpu in the cpu", `<domain type='kvm'><name>a</name><os><type arch='x86_64'>hvm</type></os><cpu mode='custom'><model>EPYC</model><cpu mode='host-model'/></cpu></domain>`, "<cpu> inside <cpu>"},
		{"CDATA in the cpu", `<domain type='kvm'><name>a</name><os><type arch='x86_64'>hvm</type></os><cpu mode='custom'><![CDATA[<feature policy='require' name='vmx'/>]]><model>EPYC</model></cpu></domain>`, "text in <cpu>"},
		{"text in the cpu", `<domain type='kvm'><name>a</name><os><type arch='x86_64'>hvm</type></os><cpu mode='custom'>x<model>EPYC</model></cpu></domain>`, "text in <cpu>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Expose([]byte(tt.xml), ExposeOptions{Vendor: "intel"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestExposeChoosesTheFeatureForTheArchAndVendor(t *testing.T) {
	dom := func(arch, cpu string) []byte {
		return []byte("<domain type='kvm'>\n  <name>g</name>\n  <os>\n    <type arch='" + arch + "'>hvm</type>\n  </os>\n" + cpu + "</domain>\n")
	}
	custom := "  <cpu mode='custom'>\n    <model>Skylake-Server</model>\n  </cpu>\n"
	tests := []struct {
		arch, vendor, cpu, want string
	}{
		{"x86_64", "intel", custom, "<feature policy='require' name='vmx'/>"},
		{"x86_64", "amd", custom, "<feature policy='require' name='svm'/>"},
		{"s390x", "", "  <cpu mode='custom'>\n    <model>gen15a</model>\n  </cpu>\n", "<feature policy='require' name='sie'/>"},
		{"x86_64", "intel", "  <cpu>\n    <topology sockets='1' cores='2' threads='1'/>\n  </cpu>\n", "<cpu mode='host-passthrough'>\n    <topology sockets='1' cores='2' threads='1'/>"},
		{"x86_64", "intel", "  <cpu mode='custom'><model>qemu64</model><feature policy='optional' name='vmx'/></cpu>\n", "<feature policy='require' name='vmx'/>"},
	}
	for _, tt := range tests {
		res, err := Expose(dom(tt.arch, tt.cpu), ExposeOptions{Vendor: tt.vendor})
		if err != nil || !res.Changed || !bytes.Contains(res.XML, []byte(tt.want)) {
			t.Errorf("%s/%s: %v\n%s", tt.arch, tt.vendor, err, res.XML)
		}
	}
	if _, err := Expose(dom("aarch64", ""), ExposeOptions{}); err == nil || !strings.Contains(err.Error(), "does not work on aarch64") {
		t.Errorf("aarch64: %s", err)
	}
	if _, err := Expose(dom("x86_64", ""), ExposeOptions{}); err == nil || !strings.Contains(err.Error(), "intel or amd") {
		t.Errorf("no vendor: %s", err)
	}
}

func TestMismatchedEndTagsAreRefused(t *testing.T) {
	for _, in := range []string{
		"<domain><cpu><model>x</cpu></model></domain>",
		"<domain><name>x</nme></domain>",
		"<domain><a:cpu xmlns:a='u'></b:cpu></domain>",
	} {
		if res, err := Expose([]byte(in), ExposeOptions{Vendor: "intel"}); err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%s: accepted (%v)\n%s", in, err, res.XML)
		}
	}
}

func TestUnexposePastesBackOnlyWellFormedRecords(t *testing.T) {
	dom := []byte("<domain type='kvm'>\n  <name>g</name>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n  <cpu mode='custom'>\n    <model>qemu64</model>\n  </cpu>\n</domain>\n")
	res, err := Expose(dom, ExposeOptions{Vendor: "intel"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"&lt;cpu&gt;&lt;/cpux&gt;", "&lt;hyperv/&gt;", "&lt;cpu/&gt;&lt;cpu/&gt;", "text&lt;cpu/&gt;"} {
		tampered := bytes.Replace(res.XML, []byte("&lt;cpu mode=&#39;custom&#39;&gt;"), []byte(bad), 1)
		if bytes.Equal(tampered, res.XML) {
			tampered = regexpReplaceCPU(res.XML, bad)
		}
		if _, err := Unexpose(tampered); err == nil || !strings.Contains(err.Error(), "nothing restored") {
			t.Errorf("record %q pasted back: %v", bad, err)
		}
	}
	back, err := Unexpose(res.XML)
	if err != nil || !bytes.Equal(back.XML, dom) {
		t.Errorf("round trip: %v\n%s", err, back.XML)
	}
	if again, err := Unexpose(back.XML); err != nil || again.Changed || !strings.Contains(strings.Join(again.Notes, " "), "nothing to restore") {
		t.Errorf("a second unexpose: %+v %v", again, err)
	}
}

// regexpReplaceCPU replaces the recorded original <cpu> text, whatever its
// escaping, with s.
func regexpReplaceCPU(x []byte, s string) []byte {
	i := bytes.Index(x, []byte(`present="yes">`))
	j := bytes.Index(x, []byte("</nestvirt:original-cpu>"))
	if i < 0 || j < 0 {
		return x
	}
	i += len(`present="yes">`)
	return append(append(append([]byte(nil), x[:i]...), s...), x[j:]...)
}

func TestUnexposeRemovesTheMetadataExposeCreated(t *testing.T) {
	dom := []byte("<domain type='kvm'>\n  <name>g</name>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n")
	res, err := Expose(dom, ExposeOptions{Vendor: "amd"})
	if err != nil || !bytes.Contains(res.XML, []byte("<metadata>")) || !bytes.Contains(res.XML, []byte(`created-metadata="yes"`)) {
		t.Fatalf("%v\n%s", err, res.XML)
	}
	back, err := Unexpose(res.XML)
	if err != nil || !bytes.Equal(back.XML, dom) {
		t.Errorf("unexpose left:\n%s", back.XML)
	}
}

func FuzzExpose(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.xml")
	// libvirt's own domains too, where the corpora are beside the repository.
	if dir, err := corpus.Dir("conformance/libvirt-xml"); err == nil {
		for _, name := range []string{"minimal.xml", "cpu-host-model-features.xml", "metadata.xml", "hyperv-panic.xml"} {
			seeds = append(seeds, filepath.Join(dir, name))
		}
	}
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("<domain><cpu/><features/><metadata/></domain>"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		res, err := Expose(raw, ExposeOptions{Vendor: "intel", Hyperv: true})
		if err != nil {
			return
		}
		// The result is still well-formed and a second pass is a no-op.
		again, err := Expose(res.XML, ExposeOptions{Vendor: "intel", Hyperv: true})
		if err != nil {
			t.Fatalf("result does not parse: %v\n%s", err, res.XML)
		}
		if again.Changed {
			t.Fatalf("not idempotent:\n%s\n---\n%s", res.XML, again.XML)
		}
	})
}

// TestAnAnnotationReadsAsTheMetadataAPIHandsItBack: libvirt 9.0's
// virDomainGetMetadata returns nestvirt's element without its namespace
// (recorded with virsh metadata --uri ... --config); it reads as the namespaced
// element of the domain XML does, and a <guest> of another namespace does not.
func TestAnAnnotationReadsAsTheMetadataAPIHandsItBack(t *testing.T) {
	fromAPI := "<guest>\n  <runs>kvm</runs>\n  <l2>rhel10.0</l2>\n  <os>rhel9.6</os>\n  <original-cpu present=\"yes\">&lt;cpu mode='custom'/&gt;</original-cpu>\n</guest>\n"
	inXML := `<nestvirt:guest xmlns:nestvirt="https://nestvirt.dev/xmlns/libvirt/1"><nestvirt:runs>kvm</nestvirt:runs><nestvirt:l2>rhel10.0</nestvirt:l2><nestvirt:os>rhel9.6</nestvirt:os><nestvirt:original-cpu present="yes">&lt;cpu mode='custom'/&gt;</nestvirt:original-cpu></nestvirt:guest>`
	for name, el := range map[string]string{"from the metadata API": fromAPI, "in the domain XML": inXML} {
		a, err := ParseAnnotation([]byte(el))
		if err != nil || a.Runs != "kvm" || len(a.L2) != 1 || a.L2[0] != "rhel10.0" || a.OS != "rhel9.6" || !a.Recorded || a.CPU != "<cpu mode='custom'/>" {
			t.Errorf("%s: %+v %v", name, a, err)
		}
	}
	if _, err := ParseAnnotation([]byte(`<guest xmlns="https://example.com/other"><runs>kvm</runs></guest>`)); err == nil {
		t.Error("another namespace's <guest> was read as nestvirt's")
	}
}

// TestAnotherNamespacesCPUIsLeftAlone: <a:cpu> is not libvirt's <cpu>: expose
// adds libvirt's beside it, and unexpose gives back the document as it was.
func TestAnotherNamespacesCPUIsLeftAlone(t *testing.T) {
	dom := []byte("<domain type='kvm' xmlns:a='http://example.com/a'>\n  <name>f</name>\n  <os><type arch='x86_64'>hvm</type></os>\n  <a:cpu mode='whatever'/>\n</domain>\n")
	res, err := Expose(dom, ExposeOptions{Vendor: "intel"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(res.XML, []byte("<a:cpu mode='whatever'/>")) || bytes.Count(res.XML, []byte("<cpu ")) != 1 || bytes.Contains(res.XML, []byte("original-cpu present=\"yes\"")) {
		t.Errorf("expose:\n%s", res.XML)
	}
	back, err := Unexpose(res.XML)
	if err != nil || !bytes.Equal(back.XML, dom) {
		t.Errorf("unexpose: %v\n%s", err, back.XML)
	}
}

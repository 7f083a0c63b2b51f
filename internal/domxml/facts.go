package domxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"libvirt.org/go/libvirtxml"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// libosinfoNS is the namespace virt-install records the guest OS in.
const libosinfoNS = "http://libosinfo.org/xmlns/libvirt/domain/1.0"

// HostCPU is what decides whether a passthrough CPU carries virtualization.
type HostCPU struct {
	Arch    string
	Vendor  string // intel, amd, ibm
	VirtExt string // vmx, svm, sie; "" or "none" when the host has none (PVM, a guest that hides it)
}

// VM is one domain's facts.
type VM struct {
	Name    string  `json:"name"`
	State   string  `json:"state"`
	Arch    string  `json:"arch"`
	CPUMode string  `json:"cpu_mode"` // host-passthrough, maximum, host-model, custom, none
	Exposes *bool   `json:"exposes_virtualization"`
	Why     string  `json:"exposes_reason"`
	OS      *string `json:"os"`        // the name plan uses (rhel10.0, win11); null when unknown
	OSFrom  string  `json:"os_source"` // libosinfo, nestvirt annotation, guest agent; "" when unknown
	// AgentOS is the OS the guest agent reports (asked with --guest-agent),
	// beside the declared one; nil when it was not asked or did not answer.
	AgentOS *string `json:"agent_os"`
	// OSNote says what the guest agent said beside the declared OS, or why it
	// said nothing.
	OSNote string   `json:"os_note"`
	Huge   bool     `json:"hugepages"`
	Runs   string   `json:"runs"`
	L2     []string `json:"l2"`
	// Type is the domain type: kvm, or qemu (emulation, no KVM).
	Type string `json:"type"`
	// Platform is what manages the domain, from its metadata: rhel (plain
	// libvirt), openstack (Nova), rhv (oVirt/RHV's VDSM), openshift-virtualization
	// (KubeVirt).
	Platform string `json:"platform"`
	// MetadataNote says what of <metadata> was not read (a record over its
	// bounds), and so is unknown.
	MetadataNote string `json:"metadata_note"`
	Error        string `json:"error"`
	// Undoable says whether nestvirt's record holds an expose to undo (what
	// unexpose restores); nil when the record could not be read.
	Undoable *bool `json:"-"`

	os *osid.OS
}

// platformNamespaces name the management layers that write their own metadata
// into the domains they define.
var platformNamespaces = []struct{ prefix, platform string }{
	{"http://openstack.org/xmlns/libvirt/nova", "openstack"},
	{"http://ovirt.org/vm", "rhv"},
	{"http://kubevirt.io", "openshift-virtualization"},
}

// ParsedOS is the guest OS as osid reads it, nil when unknown.
func (v *VM) ParsedOS() *osid.OS { return v.os }

// SetOS records the guest OS from another source (the guest agent).
func (v *VM) SetOS(o osid.OS, from string) {
	v.os, v.OS, v.OSFrom = &o, &o.ID, from
}

// ReadVM reads a domain's facts from its (non-secure) XML. hostModel answers
// whether the host-model CPU of an arch requires a feature (domain capabilities).
//
// The cost is bounded for any definition libvirt accepts (10 MB): the document
// is scanned once (scanDomain); libvirtxml decodes only the elements the facts
// come from;
// of <metadata>, which other tools fill with anything, only the direct children's
// namespaces are looked at, the libosinfo element and nestvirt's own record
// read when they are of a size such records have. A record over its bounds is
// not read: what it would say is unknown (MetadataNote says so), and the facts
// read elsewhere still decide.
func ReadVM(raw []byte, host HostCPU, hostModel func(arch, feature string) (bool, error)) (VM, error) {
	if len(raw) > MaxSize {
		return VM{}, fmt.Errorf("domain XML is %d bytes; the limit is %d", len(raw), MaxSize)
	}
	root, top, err := scanDomain(raw)
	if err != nil {
		return VM{}, fmt.Errorf("domain XML: %w", err)
	}
	// libvirtxml decodes only the elements the facts come from: <devices>
	// and <metadata> can be megabytes, and decoding them would cost more
	// than the whole decision may take.
	var rest strings.Builder
	start := raw[root.start:root.innerStart]
	if root.selfClosing {
		start = append(bytes.TrimSuffix(bytes.TrimSpace(start[:len(start)-1]), []byte("/")), '>')
	}
	rest.Write(start)
	cpuTooBig := 0
	var md scanned
	hasMD := false
	for _, e := range top {
		switch e.name {
		case "cpu":
			if e.end-e.start > maxCPU {
				cpuTooBig = e.end - e.start
				continue
			}
			rest.Write(raw[e.start:e.end])
		case "name", "os", "memoryBacking":
			rest.Write(raw[e.start:e.end])
		case "metadata":
			md, hasMD = e, true
		}
	}
	rest.WriteString("</domain>")
	var d libvirtxml.Domain
	if err := d.Unmarshal(rest.String()); err != nil {
		return VM{}, fmt.Errorf("domain XML: %w", err)
	}
	no := false
	v := VM{Name: d.Name, Runs: "none", L2: []string{}, Type: d.Type, Platform: "rhel", Undoable: &no}
	if d.OS != nil && d.OS.Type != nil {
		v.Arch = d.OS.Type.Arch
	}
	if v.Arch == "" {
		v.Arch = host.Arch
	}
	if d.MemoryBacking != nil && d.MemoryBacking.MemoryHugePages != nil {
		v.Huge = true
	}
	if hasMD {
		v.readMetadata(raw, md)
	}
	if v.os != nil {
		v.OS = &v.os.ID
	}
	v.CPUMode, v.Exposes, v.Why = exposure(&d, v.Arch, host, hostModel)
	if cpuTooBig > 0 {
		v.CPUMode, v.Exposes, v.Why = "unknown", nil, fmt.Sprintf("the <cpu> element is %d bytes (over %d, more than any CPU model has features): not read, so whether it exposes virtualization is unknown", cpuTooBig, maxCPU)
	}
	return v, nil
}

// maxCPU bounds the <cpu> element read: libvirt takes each feature once, and a
// CPU model has a few hundred.
const maxCPU = 256 << 10

// maxForeignRecord bounds what is read of another tool's element in
// <metadata> (libosinfo's is a line).
const maxForeignRecord = 64 << 10

// readMetadata reads what <metadata>'s direct children say: the OS libosinfo
// records, the management layer (by its namespace) and nestvirt's record.
func (v *VM) readMetadata(raw []byte, md scanned) {
	for _, c := range md.children {
		ns := ""
		for _, at := range c.attrs {
			if at.Name.Space == "xmlns" || at.Name.Local == "xmlns" {
				ns = at.Value
			}
		}
		for _, p := range platformNamespaces {
			if strings.HasPrefix(ns, p.prefix) {
				v.Platform = p.platform
			}
		}
		switch {
		case ns == libosinfoNS && c.end-c.start <= maxForeignRecord:
			if o := libosinfoOS(string(raw[c.start:c.end])); o != nil && v.os == nil {
				v.os, v.OSFrom = o, "libosinfo"
			}
		case ns == libosinfoNS:
			v.MetadataNote = joinNote(v.MetadataNote, fmt.Sprintf("libosinfo's element is %d bytes (over %d): not read, so the OS it records is unknown", c.end-c.start, maxForeignRecord))
		case ns == Namespace:
			a, err := ParseAnnotation(raw[c.start:c.end])
			if err != nil {
				v.Undoable = nil
				v.Runs = ""
				v.MetadataNote = joinNote(v.MetadataNote, "nestvirt's record (nestvirt annotate) is not read: "+err.Error()+"; what the guest runs and its own guests are unknown")
				continue
			}
			if a.Runs != "" {
				v.Runs = a.Runs
			}
			undo := a.Recorded || a.HypervRecorded
			v.Undoable = &undo
			v.L2 = append(v.L2, a.L2...)
			if a.OS != "" {
				if o, err := osid.Parse(a.OS); err == nil {
					v.os, v.OSFrom = &o, "nestvirt annotation"
				}
			}
		}
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// libosinfoOS reads <libosinfo:os id="..."/> from the inner XML of <metadata>.
func libosinfoOS(inner string) *osid.OS {
	dec := xml.NewDecoder(strings.NewReader("<m>" + inner + "</m>"))
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return nil
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == libosinfoNS && se.Name.Local == "os" {
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					if o, err := osid.FromLibosinfo(a.Value); err == nil {
						return &o
					}
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// exposure decides whether virtualization reaches the guest, and why.
func exposure(d *libvirtxml.Domain, guestArch string, host HostCPU, hostModel func(arch, feature string) (bool, error)) (string, *bool, string) {
	info := arch.Of(guestArch, host.Vendor)
	feat, mode := info.Flag, cpuMode(d)
	switch {
	case !info.Nestable:
		return mode, ptr(false), fmt.Sprintf("nested virtualization does not work on %s", orUnknown(guestArch))
	case feat == "":
		return mode, nil, "the host's CPU vendor is unknown, so whether the guest needs vmx or svm is unknown"
	}
	policyOf := func() string {
		if d.CPU == nil {
			return ""
		}
		for _, f := range d.CPU.Features {
			if f.Name == feat {
				return f.Policy
			}
		}
		return ""
	}
	switch p := policyOf(); p {
	case "disable", "forbid":
		return mode, ptr(false), fmt.Sprintf("<feature policy='%s' name='%s'/> hides it", p, feat)
	case "require", "force":
		return mode, ptr(true), fmt.Sprintf("<feature policy='%s' name='%s'/>", p, feat)
	}
	switch mode {
	case "host-passthrough", "maximum":
		if host.VirtExt == feat {
			return mode, ptr(true), fmt.Sprintf("%s passes the host's %s through", mode, feat)
		}
		return mode, ptr(false), fmt.Sprintf("%s passes the host CPU through, but the host shows no %s", mode, feat)
	case "host-model":
		if hostModel == nil {
			return mode, nil, "host-model: the host's domain capabilities could not be read"
		}
		ok, err := hostModel(guestArch, feat)
		if err != nil {
			return mode, nil, "host-model: " + err.Error()
		}
		if ok {
			return mode, ptr(true), fmt.Sprintf("the host-model CPU requires %s (domain capabilities)", feat)
		}
		return mode, ptr(false), fmt.Sprintf("the host-model CPU lacks %s (domain capabilities)", feat)
	case "none":
		return mode, ptr(false), fmt.Sprintf("no <cpu>: the hypervisor's default CPU model, without %s", feat)
	}
	return mode, ptr(false), fmt.Sprintf("custom CPU model without <feature policy='require' name='%s'/>", feat)
}

func cpuMode(d *libvirtxml.Domain) string {
	switch {
	case d.CPU == nil:
		return "none"
	case d.CPU.Mode != "":
		return d.CPU.Mode
	}
	return "custom"
}

// HostModelRequires reads domain capabilities XML: does the host-model CPU carry
// feature (listed with policy require)?
func HostModelRequires(capsXML, feature string) (bool, error) {
	var caps libvirtxml.DomainCaps
	if err := caps.Unmarshal(capsXML); err != nil {
		return false, fmt.Errorf("domain capabilities: %w", err)
	}
	if caps.CPU == nil {
		return false, fmt.Errorf("domain capabilities list no CPU modes")
	}
	for _, m := range caps.CPU.Modes {
		if m.Name != "host-model" {
			continue
		}
		if m.Supported != "yes" {
			return false, nil
		}
		for _, f := range m.Features {
			if f.Name == feature && (f.Policy == "require" || f.Policy == "force") {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("domain capabilities have no host-model mode")
}

// secretAttr matches a password attribute, spaces around "=" allowed as XML
// allows them, and its quoted value.
var secretAttr = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\b(?:passwd|password)\s*=\s*)("[^"]*"|'[^']*')`) })

// MaskSecrets hides passwords in domain XML meant for display (diffs).
func MaskSecrets(x []byte) []byte {
	return secretAttr().ReplaceAllFunc(x, func(m []byte) []byte {
		sub := secretAttr().FindSubmatch(m)
		q := sub[2][0]
		return append(append(append([]byte(nil), sub[1]...), q, '*', '*', '*'), q)
	})
}

// Record is one domain as a source read it: libvirt, or a sosreport's copies.
type Record struct {
	Name  string
	State string // running, shut off, ...; "" when the source does not say
	XML   []byte
	Err   error // reading it failed (it vanished, its XML could not be fetched)
	// Agent is the OS the QEMU guest agent reports (running domains, when
	// asked); AgentErr says why there is none when it was asked.
	Agent    *osid.AgentOS
	AgentErr string
}

package sos

import (
	"bytes"
	"path"
	"sort"
	"strings"

	"github.com/nestvirt/nestvirt/internal/domxml"
)

// Domains are the libvirt domains the report holds: virsh's dumpxml where sos
// ran it (the definition libvirt has now), else the live status XML
// (run/libvirt/qemu, a <domstatus> around the <domain>), else the persistent
// definition (etc/libvirt/qemu). Their state comes from `virsh -r list --all`.
func (r *Report) Domains() []domxml.Record {
	states := r.states()
	byName := map[string]domxml.Record{}
	add := func(name string, xml []byte, err error) {
		if name == "" {
			return
		}
		if _, ok := byName[name]; ok {
			return
		}
		byName[name] = domxml.Record{Name: name, State: states[name], XML: xml, Err: err}
	}
	for _, dir := range []string{"sos_commands/virsh", "sos_commands/libvirt"} {
		for _, p := range r.Glob(dir + "/virsh_-r_dumpxml_*") {
			b, _, err := r.ReadFile(p, domxml.MaxSize)
			add(strings.TrimPrefix(path.Base(p), "virsh_-r_dumpxml_"), b, err)
		}
	}
	for _, p := range r.Glob("run/libvirt/qemu/*.xml") {
		b, _, err := r.ReadFile(p, domxml.MaxSize)
		add(strings.TrimSuffix(path.Base(p), ".xml"), innerDomain(b), err)
	}
	for _, p := range r.Glob("etc/libvirt/qemu/*.xml") {
		b, _, err := r.ReadFile(p, domxml.MaxSize)
		add(strings.TrimSuffix(path.Base(p), ".xml"), b, err)
	}
	out := make([]domxml.Record, 0, len(byName))
	for _, rec := range byName {
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// innerDomain takes the <domain> out of libvirt's status XML; other XML is
// returned as it is.
func innerDomain(b []byte) []byte {
	if !bytes.Contains(b, []byte("<domstatus")) {
		return b
	}
	start := bytes.Index(b, []byte("<domain "))
	if start < 0 {
		start = bytes.Index(b, []byte("<domain>"))
	}
	end := bytes.LastIndex(b, []byte("</domain>"))
	if start < 0 || end < start {
		return b
	}
	return b[start : end+len("</domain>")]
}

// stateNames map virsh's words for a state to libvirt's names (as vms gives them).
var stateNames = map[string]string{"running": "running", "idle": "blocked", "paused": "paused", "in shutdown": "shutdown",
	"shut off": "shutoff", "crashed": "crashed", "pmsuspended": "pmsuspended", "no state": "nostate"}

// states reads `virsh -r list --all`: " Id   Name   State" then a rule, then a
// line per domain ("1   web   running", "-   db   shut off").
func (r *Report) states() map[string]string {
	out := map[string]string{}
	for _, dir := range []string{"sos_commands/virsh", "sos_commands/libvirt"} {
		b, _, err := r.ReadFile(dir+"/virsh_-r_list_--all", 1<<20)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) < 3 || f[0] == "Id" || strings.HasPrefix(f[0], "--") {
				continue
			}
			out[f[1]] = stateNames[strings.Join(f[2:], " ")]
		}
	}
	return out
}

// DomainCapabilities is `virsh -r domcapabilities`, what decides what a
// host-model CPU carries; "" when the report lacks it.
func (r *Report) DomainCapabilities() string {
	for _, dir := range []string{"sos_commands/virsh", "sos_commands/libvirt"} {
		if b, _, err := r.ReadFile(dir+"/virsh_-r_domcapabilities", domxml.MaxSize); err == nil {
			return string(b)
		}
	}
	return ""
}

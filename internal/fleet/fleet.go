// Package fleet reads the JSON documents nestvirt wrote across many hosts
// (check, vms and plan, gathered by Ansible, a cron job, a DaemonSet) into one
// view of a fleet: a row per host, its VMs, the findings by rule, the planned
// topologies. A file that is not a valid nestvirt document is skipped and said,
// never a failure of the whole.
package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/schema"
)

// MaxDocument bounds one document: a check is a few KB, a vms of a big host a
// few MB.
const MaxDocument = 64 << 20

// Finding is one finding as the documents carry it.
type Finding struct {
	Rule          string   `json:"rule"`
	Level         string   `json:"level"`
	Informational bool     `json:"informational"`
	Undetermined  bool     `json:"undetermined"`
	Unknown       []string `json:"unknown"`
	Message       string   `json:"message"`
	Source        string   `json:"source"`
	Remedy        *string  `json:"remedy"`
}

type chain struct {
	Path     []string  `json:"path"`
	Verdict  string    `json:"verdict"`
	Findings []Finding `json:"findings"`
}

// VM is one domain of a host.
type VM struct {
	Name    string  `json:"name"`
	State   *string `json:"state"`
	CPUMode *string `json:"cpu_mode"`
	Exposes *bool   `json:"exposes_virtualization"`
	OS      *string `json:"os"`
	Runs    string  `json:"runs"`
	Verdict string  `json:"verdict"`
	Chains  []chain `json:"chains"`
	Error   *string `json:"error"`
}

type docError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

type hostFacts struct {
	Hostname       *string `json:"hostname"`
	Arch           *string `json:"arch"`
	CPUVendor      *string `json:"cpu_vendor"`
	Virtualization struct {
		VM         *string  `json:"vm"`
		Hypervisor *string  `json:"hypervisor"`
		Level      *integer `json:"level"`
		LevelMin   *integer `json:"level_min"`
	} `json:"virtualization"`
	KVM struct {
		Available *bool   `json:"available"`
		Module    *string `json:"module"`
		Nested    *bool   `json:"nested"`
	} `json:"kvm"`
	OS *struct {
		Name string `json:"name"`
	} `json:"os"`
}

type vmsPart struct {
	Verdict *string `json:"verdict"`
	URI     *string `json:"uri"`
	VMs     []VM    `json:"vms"`
}

type checkDoc struct {
	Verdict  *string    `json:"verdict"`
	Host     *hostFacts `json:"host"`
	Findings []Finding  `json:"findings"`
	VMs      *vmsPart   `json:"vms"`
	Error    *docError  `json:"error"`
}

type vmsDoc struct {
	Verdict *string    `json:"verdict"`
	Host    *hostFacts `json:"host"`
	URI     *string    `json:"uri"`
	VMs     []VM       `json:"vms"`
	Error   *docError  `json:"error"`
}

type planDoc struct {
	Verdict    *string `json:"verdict"`
	Topologies []struct {
		File    string  `json:"file"`
		Name    *string `json:"name"`
		Verdict *string `json:"verdict"`
		Chains  []chain `json:"chains"`
		Error   *struct {
			Message string `json:"message"`
		} `json:"error"`
	} `json:"topologies"`
}

// Host is one row of the fleet.
type Host struct {
	Name       string
	File       string
	Verdict    string // "" when nothing was judged (see Error)
	VM         string // what runs it ("none" on bare metal), "" unknown
	Hypervisor string
	Level      string // "0", "≥ 1", "2" (exact on IBM Z), "" unknown
	Arch       string
	OS         string
	Nested     string // on, off, "" unknown
	KVM        string // yes, no, "" unknown
	Findings   []Finding
	Worst      *Finding // the worst decided, not informational finding
	VMs        []VM
	VMsURI     string
	Error      string
}

// Topology is one planned deployment.
type Topology struct {
	File, Name, Verdict, Error string
	Chains                     int
}

// Skipped is a file that was not read, and why.
type Skipped struct{ File, Why string }

// Fleet is what the documents said.
type Fleet struct {
	Hosts      []*Host
	Topologies []Topology
	Skipped    []Skipped
}

// Load reads files and the files of directories (recursively; .json only).
func Load(paths []string) (*Fleet, error) {
	f := &Fleet{}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(q), ".json") {
				files = append(files, q)
			}
			return nil
		})
	}
	sort.Strings(files)
	byName := map[string]*Host{}
	var vmsDocs []struct {
		file string
		doc  vmsDoc
	}
	for _, file := range files {
		data, err := readLimited(file)
		if err != nil {
			f.Skipped = append(f.Skipped, Skipped{file, err.Error()})
			continue
		}
		kind := schema.Which(data)
		if kind == "" {
			f.Skipped = append(f.Skipped, Skipped{file, "not a nestvirt document (no known \"schema\")"})
			continue
		}
		var doc any
		switch kind {
		case "check":
			doc = &checkDoc{}
		case "vms":
			doc = &vmsDoc{}
		case "plan":
			doc = &planDoc{}
		default:
			f.Skipped = append(f.Skipped, Skipped{file, "a " + kind + " document says nothing of hosts"})
			continue
		}
		if err := decode(kind, data, doc); err != nil {
			f.Skipped = append(f.Skipped, Skipped{file, "not a valid " + kind + " document: " + clip(strings.Join(strings.Fields(err.Error()), " "), 300)})
			continue
		}
		switch kind {
		case "check":
			d := *doc.(*checkDoc)
			h := hostOf(file, d.Host)
			h.Verdict = str(d.Verdict)
			h.Findings = d.Findings
			if d.Error != nil {
				h.Error = d.Error.Kind + ": " + d.Error.Message
			}
			if d.VMs != nil {
				h.VMs, h.VMsURI = d.VMs.VMs, str(d.VMs.URI)
			}
			h.Worst = worst(h.Findings)
			f.Hosts = append(f.Hosts, h)
			if _, dup := byName[h.Name]; !dup {
				byName[h.Name] = h
			}
		case "vms":
			d := *doc.(*vmsDoc)
			vmsDocs = append(vmsDocs, struct {
				file string
				doc  vmsDoc
			}{file, d})
		case "plan":
			d := *doc.(*planDoc)
			for _, t := range d.Topologies {
				tp := Topology{File: t.File, Name: str(t.Name), Verdict: str(t.Verdict), Chains: len(t.Chains)}
				if t.Error != nil {
					tp.Error = t.Error.Message
				}
				f.Topologies = append(f.Topologies, tp)
			}
		}
	}
	// A host's VMs join its row; a vms document of a host without a check is a
	// row of its own.
	for _, v := range vmsDocs {
		name := ""
		if v.doc.Host != nil {
			name = str(v.doc.Host.Hostname)
		}
		h, ok := byName[name]
		if !ok || name == "" {
			h = hostOf(v.file, v.doc.Host)
			h.Verdict = str(v.doc.Verdict)
			f.Hosts = append(f.Hosts, h)
			byName[h.Name] = h
		}
		h.VMs, h.VMsURI = v.doc.VMs, str(v.doc.URI)
		if v.doc.Error != nil && h.Error == "" {
			h.Error = v.doc.Error.Kind + ": " + v.doc.Error.Message
		}
	}
	sort.SliceStable(f.Hosts, func(i, j int) bool {
		a, b := rank(f.Hosts[i].Verdict), rank(f.Hosts[j].Verdict)
		if a != b {
			return a > b
		}
		return f.Hosts[i].Name < f.Hosts[j].Name
	})
	return f, nil
}

func readLimited(file string) ([]byte, error) {
	b, err := fsroot.ReadNamed(file, MaxDocument)
	if errors.Is(err, fsroot.ErrTooLarge) {
		return nil, fmt.Errorf("larger than %d MiB", MaxDocument>>20)
	}
	return b, err
}

func hostOf(file string, hf *hostFacts) *Host {
	h := &Host{File: file, Name: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))}
	if hf == nil {
		return h
	}
	if hf.Hostname != nil && *hf.Hostname != "" {
		h.Name = *hf.Hostname
	}
	v := hf.Virtualization
	h.VM, h.Hypervisor, h.Arch = str(v.VM), str(v.Hypervisor), str(hf.Arch)
	switch {
	case v.Level != nil:
		h.Level = fmt.Sprint(*v.Level)
	case v.LevelMin != nil:
		h.Level = fmt.Sprintf("≥ %d", *v.LevelMin)
	}
	h.Nested = onOff(hf.KVM.Nested, "on", "off")
	h.KVM = onOff(hf.KVM.Available, "yes", "no")
	if hf.OS != nil {
		h.OS = hf.OS.Name
	}
	return h
}

func onOff(b *bool, yes, no string) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return yes
	}
	return no
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// rank orders verdicts best to worst; nothing judged ranks past the worst.
func rank(v string) int {
	if v == "" {
		return len(policy.LevelNames())
	}
	l, err := policy.ParseLevel(v)
	if err != nil {
		return len(policy.LevelNames())
	}
	return int(l)
}

// Rank is rank, for renderers that sort.
func Rank(v string) int { return rank(v) }

func worst(fs []Finding) *Finding {
	var w *Finding
	for i := range fs {
		f := &fs[i]
		if f.Informational || f.Undetermined {
			continue
		}
		if w == nil || rank(f.Level) > rank(w.Level) {
			w = f
		}
	}
	return w
}

// clip cuts s to n bytes, on a character's boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Rule is a rule's findings across the fleet.
type Rule struct {
	ID, Level, Source, Remedy string
	Undetermined              bool
	Hosts                     []string
}

// Rules groups the fleet's findings by rule (decided and undetermined apart),
// worst first, then by how many hosts they hit.
func (f *Fleet) Rules() []Rule {
	idx := map[string]*Rule{}
	var order []string
	for _, h := range f.Hosts {
		for _, fd := range h.Findings {
			if fd.Informational {
				continue
			}
			key := fd.Rule
			if fd.Undetermined {
				key += " (undetermined)"
			}
			r, ok := idx[key]
			if !ok {
				r = &Rule{ID: fd.Rule, Level: fd.Level, Source: fd.Source, Undetermined: fd.Undetermined}
				idx[key] = r
				order = append(order, key)
			}
			if r.Remedy == "" && fd.Remedy != nil {
				r.Remedy = *fd.Remedy
			}
			r.Hosts = append(r.Hosts, h.Name)
		}
	}
	out := make([]Rule, 0, len(order))
	for _, k := range order {
		out = append(out, *idx[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Undetermined != out[j].Undetermined {
			return !out[i].Undetermined
		}
		if a, b := rank(out[i].Level), rank(out[j].Level); a != b {
			return a > b
		}
		return len(out[i].Hosts) > len(out[j].Hosts)
	})
	return out
}

// Counts is how many hosts have each verdict, worst first, then those not judged.
func (f *Fleet) Counts() []struct {
	Verdict string
	N       int
} {
	n := map[string]int{}
	for _, h := range f.Hosts {
		n[h.Verdict]++
	}
	var out []struct {
		Verdict string
		N       int
	}
	levels := policy.LevelNames()
	for i := len(levels) - 1; i >= 0; i-- {
		if n[levels[i]] > 0 {
			out = append(out, struct {
				Verdict string
				N       int
			}{levels[i], n[levels[i]]})
		}
	}
	if n[""] > 0 {
		out = append(out, struct {
			Verdict string
			N       int
		}{"", n[""]})
	}
	return out
}

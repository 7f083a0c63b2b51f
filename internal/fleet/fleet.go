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

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/schema"
)

// MaxDocument bounds one document: a check is a few KB, a vms of a big host a
// few MB.
const MaxDocument = 64 << 20

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
	Findings   []policy.Finding
	Worst      *policy.Finding // the worst decided, not informational finding
	VMs        []doc.VMEntry
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
		doc  doc.VMsDoc
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
		var read any
		switch kind {
		case "check":
			read = &doc.CheckDoc{}
		case "vms":
			read = &doc.VMsDoc{}
		case "plan":
			read = &doc.PlanDoc{}
		default:
			f.Skipped = append(f.Skipped, Skipped{file, "a " + kind + " document says nothing of hosts"})
			continue
		}
		if err := decode(kind, data, read); err != nil {
			f.Skipped = append(f.Skipped, Skipped{file, "not a valid " + kind + " document: " + clip(strings.Join(strings.Fields(err.Error()), " "), 300)})
			continue
		}
		switch kind {
		case "check":
			d := *read.(*doc.CheckDoc)
			h := hostOf(file, d.Host)
			h.Verdict = level(d.Verdict)
			h.Findings = d.Findings
			if d.Error != nil {
				h.Error = string(d.Error.Kind) + ": " + d.Error.Message
			}
			if d.VMs != nil {
				h.VMs, h.VMsURI = d.VMs.VMs, d.VMs.URI
			}
			h.Worst = worst(h.Findings)
			f.Hosts = append(f.Hosts, h)
			if _, dup := byName[h.Name]; !dup {
				byName[h.Name] = h
			}
		case "vms":
			d := *read.(*doc.VMsDoc)
			vmsDocs = append(vmsDocs, struct {
				file string
				doc  doc.VMsDoc
			}{file, d})
		case "plan":
			d := *read.(*doc.PlanDoc)
			for _, t := range d.Topologies {
				tp := Topology{File: t.File, Name: str(t.Name), Verdict: level(t.Verdict), Chains: len(t.Chains)}
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
			h.Verdict = level(v.doc.Verdict)
			f.Hosts = append(f.Hosts, h)
			byName[h.Name] = h
		}
		h.VMs, h.VMsURI = v.doc.VMs, str(v.doc.URI)
		if v.doc.Error != nil && h.Error == "" {
			h.Error = string(v.doc.Error.Kind) + ": " + v.doc.Error.Message
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

func hostOf(file string, hf *probe.Facts) *Host {
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

// level is a verdict's name, "" when there is none.
func level(l *policy.Level) string {
	if l == nil {
		return ""
	}
	return l.String()
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

func worst(fs []policy.Finding) *policy.Finding {
	var w *policy.Finding
	for i := range fs {
		f := &fs[i]
		if f.Informational || f.Undetermined {
			continue
		}
		if w == nil || f.Level > w.Level {
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
				r = &Rule{ID: fd.Rule, Level: fd.Level.String(), Source: fd.Source, Undetermined: fd.Undetermined}
				idx[key] = r
				order = append(order, key)
			}
			if r.Remedy == "" {
				r.Remedy = fd.Remedy
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

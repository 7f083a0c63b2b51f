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
	"time"
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

// Host is one row of the fleet: one machine, whatever number of documents
// speak of it (a live check, a sosreport, an Ansible fact). The newest
// document's facts are the row's.
type Host struct {
	Name string
	ID   string // nestvirt's machine ID (host.machine_id), "" when no document has one
	// NoID: the document says no machine ID (one written before nestvirt
	// recorded one, or of a machine whose ID could not be read): it is a row
	// of its own, merged with nothing, since two machines can share a name.
	NoID       bool
	File       string // the document whose facts the row shows
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
	// CheckedAt is when the row's machine was read (the newest document's
	// checked_at); zero when no document says.
	CheckedAt time.Time
	// Sources are every document of this machine, newest first.
	Sources []Source
}

// Source is one document that fed a host's row.
type Source struct {
	File      string
	Kind      string    // check or vms
	Origin    string    // live, snapshot, sosreport, host-root; "" when the document does not say
	CheckedAt time.Time // zero when the document does not say
}

// Topology is one planned deployment, with its chains.
type Topology struct {
	File, Name, Verdict, Error string
	Chains                     []policy.ChainResult
}

// Skipped is a file that was not read, and why.
type Skipped struct{ File, Why string }

// Fleet is what the documents said.
type Fleet struct {
	Hosts      []*Host
	Topologies []Topology
	Skipped    []Skipped
	// Merged is how many documents joined a row another document had started.
	Merged int
}

// entry is one host document, read.
type entry struct {
	file, kind string
	order      int
	facts      *probe.Facts
	at         time.Time
	origin     string
	check      *doc.CheckDoc
	vms        *doc.VMsDoc
}

// key is the machine an entry speaks of: its ID and name. A document without
// an ID is its own: names are not unique (every Windows L1 of a template is
// WIN10-L1), and a row that merged two machines would hide one.
func (e entry) key() (key string, id bool) {
	var hostname string
	if e.facts != nil && e.facts.Hostname != nil {
		hostname = *e.facts.Hostname
	}
	if e.facts != nil && e.facts.MachineID != nil && *e.facts.MachineID != "" {
		return "id:" + *e.facts.MachineID + "\x00" + hostname, true
	}
	return "file:" + e.file, false
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
	var entries []entry
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
		if why := onlyAnError(read); why != "" {
			f.Skipped = append(f.Skipped, Skipped{file, why})
			continue
		}
		e := entry{file: file, kind: kind, order: len(entries)}
		switch kind {
		case "check":
			d := read.(*doc.CheckDoc)
			e.check, e.facts = d, d.Host
			e.at, e.origin = when(d.CheckedAt), originOf(d.Origin)
		case "vms":
			d := read.(*doc.VMsDoc)
			e.vms, e.facts = d, d.Host
			e.at, e.origin = when(d.CheckedAt), originOf(d.Origin)
		case "plan":
			d := read.(*doc.PlanDoc)
			for _, t := range d.Topologies {
				tp := Topology{File: t.File, Name: str(t.Name), Verdict: level(t.Verdict), Chains: t.Chains}
				if t.Error != nil {
					tp.Error = t.Error.Message
				}
				f.Topologies = append(f.Topologies, tp)
			}
			continue
		}
		entries = append(entries, e)
	}
	f.Hosts = f.group(entries)
	sort.SliceStable(f.Hosts, func(i, j int) bool {
		a, b := rank(f.Hosts[i].Verdict), rank(f.Hosts[j].Verdict)
		if a != b {
			return a > b
		}
		return f.Hosts[i].Name < f.Hosts[j].Name
	})
	return f, nil
}

// group makes one row per machine: documents with the same ID and host name
// are one machine; a document without an ID is a row of its own.
func (f *Fleet) group(entries []entry) []*Host {
	groups := map[string][]entry{}
	var order []string
	for _, e := range entries {
		k, _ := e.key()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], e)
	}
	var hosts []*Host
	for _, k := range order {
		es := groups[k]
		f.Merged += len(es) - 1
		h := row(es)
		h.NoID = strings.HasPrefix(k, "file:")
		hosts = append(hosts, h)
	}
	return hosts
}

// row is one machine's row from its documents: the newest check's facts and
// verdict (a vms document's when there is no check), the newest VMs.
func row(es []entry) *Host {
	// Newest first: by checked_at (a document that does not say is older than
	// any that does), then the later file.
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].at.Equal(es[j].at) {
			return es[i].at.After(es[j].at)
		}
		return es[i].order > es[j].order
	})
	base := -1
	for i, e := range es {
		if e.check != nil {
			base = i
			break
		}
	}
	if base < 0 {
		base = 0
	}
	b := es[base]
	h := hostOf(b.file, b.facts)
	h.CheckedAt = b.at
	switch {
	case b.check != nil:
		d := b.check
		h.Verdict, h.Findings = level(d.Verdict), d.Findings
		if d.Error != nil {
			h.Error = string(d.Error.Kind) + ": " + d.Error.Message
		}
	case b.vms != nil:
		h.Verdict = level(b.vms.Verdict)
		if b.vms.Error != nil {
			h.Error = string(b.vms.Error.Kind) + ": " + b.vms.Error.Message
		}
	}
	h.Worst = worst(h.Findings)
	for _, e := range es {
		if e.check != nil && e.check.VMs != nil {
			h.VMs, h.VMsURI = e.check.VMs.VMs, e.check.VMs.URI
			break
		}
		if e.vms != nil && e.vms.Error == nil {
			h.VMs, h.VMsURI = e.vms.VMs, str(e.vms.URI)
			break
		}
	}
	for _, e := range es {
		if h.ID == "" && e.facts != nil && e.facts.MachineID != nil {
			h.ID = *e.facts.MachineID
		}
		h.Sources = append(h.Sources, Source{File: e.file, Kind: e.kind, Origin: e.origin, CheckedAt: e.at})
	}
	return h
}

// when reads a document's checked_at; zero when absent or not a time.
func when(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func originOf(o *doc.Origin) string {
	if o == nil {
		return ""
	}
	return string(o.Kind)
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

// onlyAnError is why a host document that records nothing but its error (check
// --root of a path that is no snapshot, vms where no daemon answered and the
// machine could not be read) makes no row: it names no machine, and a row
// for it would be a host nobody has. "" when the document speaks of a machine.
func onlyAnError(d any) string {
	var host *probe.Facts
	var verdict *policy.Level
	var e *doc.Error
	kind := ""
	switch d := d.(type) {
	case *doc.CheckDoc:
		host, verdict, e, kind = d.Host, d.Verdict, d.Error, "check"
	case *doc.VMsDoc:
		host, verdict, e, kind = d.Host, d.Verdict, d.Error, "vms"
	default:
		return ""
	}
	if host != nil || verdict != nil || e == nil {
		return ""
	}
	return "a " + kind + " that failed, of no machine: " + clip(string(e.Kind)+": "+strings.Join(strings.Fields(e.Message), " "), 300)
}

// WorstText is the worst-finding cell in words, the one text every renderer
// of the fleet shows: the finding's level and rule; for a host unsupported
// in no rule's words, where it stands; "none" when judged with no finding
// worse than informational; "" when the host was not judged.
func (h *Host) WorstText() string {
	switch {
	case h.Worst != nil:
		return h.Worst.Level.String() + " " + h.Worst.Rule
	case h.Verdict == "unsupported":
		return "in no listed environment"
	case h.Verdict == "":
		return ""
	}
	return "none"
}

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

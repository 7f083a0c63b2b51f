package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// The JSON contract (docs/JSON.md): every document names its schema, has one
// shape whatever its input, every field is always present, and what is unknown or
// absent is null. The schemas are in schema/ and printed by `nestvirt schema`.

// DocError is why a document holds less than it should: the command's failure,
// inside the document, so a fleet's report shows the broken host.
type DocError struct {
	// Kind is input (a flag, a file, a snapshot: exit 2), dependency (libvirt,
	// permissions: exit 3) or policy (a policy that cannot judge these facts).
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// CheckDoc is the JSON of `nestvirt check`.
type CheckDoc struct {
	Schema   string           `json:"schema"`
	Verdict  *policy.Level    `json:"verdict"` // null when nothing could be judged
	Host     *probe.Facts     `json:"host"`    // null when the machine could not be read
	Findings []policy.Finding `json:"findings"`
	VMs      *VMsPart         `json:"vms"` // null unless --vms judged them
	Error    *DocError        `json:"error"`
}

// VMsPart is the VMs of check --vms: vms's document without the host, which
// check already gives.
type VMsPart struct {
	Verdict *policy.Level `json:"verdict"`
	URI     string        `json:"uri"`
	Notes   []string      `json:"notes"`
	VMs     []VMEntry     `json:"vms"`
}

// VMsDoc is the JSON of `nestvirt vms`.
type VMsDoc struct {
	Schema  string        `json:"schema"`
	Verdict *policy.Level `json:"verdict"` // null when there was nothing to judge
	Host    *probe.Facts  `json:"host"`
	URI     *string       `json:"uri"`
	Notes   []string      `json:"notes"`
	VMs     []VMEntry     `json:"vms"`
	Error   *DocError     `json:"error"`
}

// VMEntry is one domain: what was read of it, and its chains' verdicts.
type VMEntry struct {
	Name          string               `json:"name"`
	State         *string              `json:"state"` // libvirt's word; null when unknown
	Arch          *string              `json:"arch"`
	CPUMode       *string              `json:"cpu_mode"`
	Exposes       *bool                `json:"exposes_virtualization"`
	ExposesReason *string              `json:"exposes_reason"`
	OS            *string              `json:"os"`
	OSSource      *string              `json:"os_source"`
	OSNote        *string              `json:"os_note"` // the guest agent's answer beside the declared OS, or why there is none
	AgentOS       *string              `json:"agent_os"`
	Hugepages     bool                 `json:"hugepages"`
	Runs          string               `json:"runs"`
	L2            []string             `json:"l2"`
	Type          *string              `json:"type"`
	Platform      *string              `json:"platform"`
	Verdict       policy.Level         `json:"verdict"`
	Chains        []policy.ChainResult `json:"chains"`
	AgentChains   []policy.ChainResult `json:"agent_chains"` // judged with the agent's OS, where it differs from the declared
	Error         *string              `json:"error"`        // why the domain could not be read
}

func nullable(s string) *string {
	if s == "" || s == "unknown" {
		return nil
	}
	return &s
}

func vmEntries(rs []judge.VMResult) []VMEntry {
	out := make([]VMEntry, 0, len(rs))
	for _, r := range rs {
		l2 := r.L2
		if l2 == nil {
			l2 = []string{}
		}
		chains := r.Chains
		if chains == nil {
			chains = []policy.ChainResult{}
		}
		out = append(out, VMEntry{Name: r.Name, State: nullable(r.State), Arch: nullable(r.Arch), CPUMode: nullable(r.CPUMode),
			Exposes: r.Exposes, ExposesReason: nullable(r.Why), OS: r.OS, OSSource: nullable(r.OSFrom), OSNote: nullable(r.OSNote), Hugepages: r.Huge,
			Runs: r.Runs, L2: l2, Type: nullable(r.Type), Platform: nullable(r.Platform), Verdict: r.Verdict, Chains: chains,
			AgentOS: r.AgentOS, AgentChains: r.AgentChains, Error: nullable(r.Error)})
	}
	return out
}

// NewCheckDoc is check's document. r is nil when nothing could be judged.
func NewCheckDoc(r *judge.CheckResult, vms *judge.Audit, fail *DocError) CheckDoc {
	d := CheckDoc{Schema: SchemaCheck, Findings: []policy.Finding{}, Error: fail}
	if r != nil {
		v, host := r.Verdict, r.Host
		d.Verdict, d.Host = &v, &host
		if r.Findings != nil {
			d.Findings = r.Findings
		}
	}
	if vms != nil {
		d.VMs = &VMsPart{Verdict: vms.Verdict, URI: vms.URI, Notes: vms.Notes, VMs: vmEntries(vms.VMs)}
	}
	return d
}

// NewVMsDoc is vms's document; a nil audit is one that could not be made.
func NewVMsDoc(a *judge.Audit, host *probe.Facts, fail *DocError) VMsDoc {
	d := VMsDoc{Schema: SchemaVMs, Host: host, Notes: []string{}, VMs: []VMEntry{}, Error: fail}
	if a != nil {
		d.Verdict, d.URI, d.VMs = a.Verdict, nullable(a.URI), vmEntries(a.VMs)
		if a.Notes != nil {
			d.Notes = a.Notes
		}
	}
	return d
}

// WriteJSON writes any document. A vms document's domains are encoded on all
// CPUs, each on its own, and streamed: a host of a thousand domains is written
// in a fraction of the time encoding/json takes to marshal, then indent, the
// whole. The bytes are encoding/json's (TestStreamedJSONIsEncodingJSONs).
func WriteJSON(w io.Writer, doc any) error {
	if d, ok := doc.(VMsDoc); ok && len(d.VMs) > 1 {
		return streamJSON(w, d, "vms")
	}
	return JSON(w, doc)
}

// streamJSON writes doc, a struct whose fields all have a json name and no
// options (the contract: every member always present), as JSON's Encoder with
// a two-space indent would, encoding the elements of the slice field named
// list in parallel.
func streamJSON(w io.Writer, doc any, list string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	v := reflect.ValueOf(doc)
	t := v.Type()
	bw.WriteString("{\n")
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		bw.WriteString("  ")
		bw.Write(appendString(nil, name))
		bw.WriteString(": ")
		f := v.Field(i)
		var err error
		if name == list && f.Kind() == reflect.Slice && f.Len() > 0 {
			err = encodeElements(bw, f)
		} else {
			err = encodeIndented(bw, f.Interface(), "  ")
		}
		if err != nil {
			return err
		}
		if i < t.NumField()-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// encodeIndented writes v as an Encoder with prefix and a two-space indent
// would, without its trailing newline.
func encodeIndented(w *bufio.Writer, v any, prefix string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return err
}

// encodeElements writes a non-empty slice, its elements encoded on all CPUs
// and written in order.
func encodeElements(w *bufio.Writer, s reflect.Value) error {
	n := s.Len()
	out := make([][]byte, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetIndent("    ", "  ")
				enc.SetEscapeHTML(false)
				errs[i] = enc.Encode(s.Index(i).Interface())
				out[i] = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
			}
		}()
	}
	wg.Wait()
	w.WriteString("[")
	for i := range n {
		if errs[i] != nil {
			return errs[i]
		}
		w.WriteString("\n    ")
		w.Write(out[i])
		if i < n-1 {
			w.WriteByte(',')
		}
	}
	_, err := w.WriteString("\n  ]")
	return err
}

// Package doc defines nestvirt's JSON documents once: check, vms, plan and
// matrix, and the parts they share (the host's facts, findings, chains, an
// error inside a document). The writers in package report write them, the
// fleet reads them back with the same types, and schema/ is generated from
// them (scripts/genschema; a test fails when the files and the types differ).
//
// The contract (docs/JSON.md): every document names its schema, has one shape
// whatever its input, every field is always present, and what is unknown or
// absent is null.
package doc

import (
	"errors"

	"github.com/nestvirt/nestvirt/internal/actions"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Schema ids of the documents; each names its own in its "schema" member.
const (
	SchemaCheck  = "https://nestvirt.dev/schema/check/v1"
	SchemaVMs    = "https://nestvirt.dev/schema/vms/v1"
	SchemaPlan   = "https://nestvirt.dev/schema/plan/v1"
	SchemaMatrix = "https://nestvirt.dev/schema/matrix/v1"
)

// Error is why a document holds less than it should: the command's failure,
// inside the document, so a fleet's report shows the broken host.
type Error struct {
	Kind    ErrorKind `json:"kind"`
	Message string    `json:"message"`
}

// ErrorKind says which kind of failure an Error is.
type ErrorKind string

// The kinds of failure, as the exit codes tell them apart.
const (
	// ErrorInput: a flag, a file, a snapshot (exit 2).
	ErrorInput ErrorKind = "input"
	// ErrorDependency: libvirt, permissions (exit 3).
	ErrorDependency ErrorKind = "dependency"
	// ErrorRefused: an action refused (exit 1).
	ErrorRefused ErrorKind = "refused"
)

// ErrorOf is a command's failure as its document says it, by the kind its
// error is marked with (package fault; a refusal before bad input, as the
// exit codes tell them); nil for no failure.
func ErrorOf(err error) *Error {
	if err == nil {
		return nil
	}
	kind := ErrorDependency
	switch {
	case errors.As(err, new(fault.Refused)):
		kind = ErrorRefused
	case errors.As(err, new(fault.Input)):
		kind = ErrorInput
	}
	return &Error{Kind: kind, Message: err.Error()}
}

// Enum lists the kinds, for the schema.
func (ErrorKind) Enum() []string {
	return []string{string(ErrorInput), string(ErrorDependency), string(ErrorRefused)}
}

// Origin says where a document's facts were read: the machine itself, a
// snapshot of it, a sosreport, or the node's / mounted in a container.
type Origin struct {
	Kind OriginKind `json:"kind"`
	// Path is the snapshot, report or mount read; null for a live machine.
	Path *string `json:"path"`
}

// OriginKind is how the facts were read.
type OriginKind string

// The kinds of origin.
const (
	OriginLive      OriginKind = "live"
	OriginSnapshot  OriginKind = "snapshot"
	OriginSosreport OriginKind = "sosreport"
	OriginHostRoot  OriginKind = "host-root"
)

// Enum lists the kinds, for the schema.
func (OriginKind) Enum() []string {
	return []string{string(OriginLive), string(OriginSnapshot), string(OriginSosreport), string(OriginHostRoot)}
}

// CheckDoc is the JSON of `nestvirt check`.
type CheckDoc struct {
	Schema string `json:"schema"`
	// CheckedAt is when the machine was read (RFC 3339, UTC): now for a live
	// check, when the snapshot was taken or the sosreport collected; null when
	// that is unknown. Documents written before it have none.
	CheckedAt *string `json:"checked_at" schema:"optional"`
	// Origin is where the facts were read; documents written before it have none.
	Origin   *Origin          `json:"origin" schema:"optional"`
	Verdict  *policy.Level    `json:"verdict"` // null when nothing could be judged
	Host     *probe.Facts     `json:"host"`    // null when the machine could not be read
	Findings []policy.Finding `json:"findings"`
	// CouldBe is what stating a fact nestvirt cannot read would make the
	// verdict, each judged again with the statement.
	CouldBe []judge.Possibility `json:"could_be" schema:"optional"`
	// Actions are nestvirt's changes to this machine (enable, disable, the
	// guard's install and uninstall): which apply, and why the others do not.
	Actions []actions.Action `json:"actions" schema:"optional"`
	// Recorded is what nestvirt recorded on the host in a sosreport (check
	// --sos); null otherwise, or when the report holds none.
	Recorded *RecordedPart `json:"recorded" schema:"optional"`
	VMs      *VMsPart      `json:"vms"` // null unless --vms judged them
	Error    *Error        `json:"error"`
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
	Schema string `json:"schema"`
	// CheckedAt and Origin are as in a check document.
	CheckedAt *string       `json:"checked_at" schema:"optional"`
	Origin    *Origin       `json:"origin" schema:"optional"`
	Verdict   *policy.Level `json:"verdict"` // null when there was nothing to judge
	Host      *probe.Facts  `json:"host"`
	URI       *string       `json:"uri"`
	Notes     []string      `json:"notes"`
	VMs       []VMEntry     `json:"vms"`
	Error     *Error        `json:"error"`
	// Recorded is what nestvirt recorded on the host in a sosreport (vms
	// --sos); null otherwise.
	Recorded *RecordedPart `json:"recorded" schema:"optional"`
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
	OSNote        *string              `json:"os_note" schema:"optional"` // the guest agent's answer beside the declared OS, or why there is none
	AgentOS       *string              `json:"agent_os" schema:"optional"`
	Hugepages     bool                 `json:"hugepages"`
	Runs          *string              `json:"runs"`                            // null when nestvirt's record could not be read
	MetadataNote  *string              `json:"metadata_note" schema:"optional"` // what of <metadata> was not read, and so is unknown
	L2            []string             `json:"l2"`
	Type          *string              `json:"type"`
	Platform      *string              `json:"platform"`
	Verdict       policy.Level         `json:"verdict"`
	Chains        []policy.ChainResult `json:"chains"`
	AgentChains   []policy.ChainResult `json:"agent_chains" schema:"optional,null"` // judged with the agent's OS, where it differs from the declared
	Error         *string              `json:"error"`                               // why the domain could not be read
	// Actions are expose and unexpose for this VM: which apply, and why not.
	Actions []actions.Action `json:"actions" schema:"optional"`
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
			Runs: nullable(r.Runs), MetadataNote: nullable(r.MetadataNote), L2: l2, Type: nullable(r.Type), Platform: nullable(r.Platform), Verdict: r.Verdict, Chains: chains,
			AgentOS: r.AgentOS, AgentChains: r.AgentChains, Error: nullable(r.Error), Actions: []actions.Action{}})
	}
	return out
}

// RecordedPart is what nestvirt recorded on a host into its sosreport (the
// sos_extras drop-in): the host's word about itself when the report was
// collected, shown beside the judgement of the report's files made now.
type RecordedPart struct {
	Source      string           `json:"source"`       // the report's directory of it
	Version     *string          `json:"version"`      // the recording nestvirt's version line
	Policy      *string          `json:"policy"`       // the policy it judged with
	CheckedAt   *string          `json:"checked_at"`   // when it judged
	Verdict     *policy.Level    `json:"verdict"`      // its verdict; null when not recorded or not trusted
	Findings    []policy.Finding `json:"findings"`     // its check's findings
	VMs         []RecordedVM     `json:"vms"`          // its vms document's verdicts
	GuardStatus *string          `json:"guard_status"` // guard status's first line
	// Problems are recorded documents that are not valid, and so not
	// trusted, with the reason.
	Problems []string `json:"problems"`
}

// RecordedVM is one VM's verdict as the host recorded it.
type RecordedVM struct {
	Name    string       `json:"name"`
	Verdict policy.Level `json:"verdict"`
}

// NewCheckDoc is check's document. r is nil when nothing could be judged.
func NewCheckDoc(r *judge.CheckResult, vms *judge.Audit, fail *Error) CheckDoc {
	d := CheckDoc{Schema: SchemaCheck, Findings: []policy.Finding{}, CouldBe: []judge.Possibility{}, Actions: []actions.Action{}, Error: fail}
	if r != nil {
		v, host := r.Verdict, r.Host
		d.Verdict, d.Host = &v, &host
		if r.Findings != nil {
			d.Findings = r.Findings
		}
		if r.CouldBe != nil {
			d.CouldBe = r.CouldBe
		}
	}
	if vms != nil {
		d.VMs = &VMsPart{Verdict: vms.Verdict, URI: vms.URI, Notes: vms.Notes, VMs: vmEntries(vms.VMs)}
	}
	return d
}

// NewVMsDoc is vms's document; a nil audit is one that could not be made.
func NewVMsDoc(a *judge.Audit, host *probe.Facts, fail *Error) VMsDoc {
	d := VMsDoc{Schema: SchemaVMs, Host: host, Notes: []string{}, VMs: []VMEntry{}, Error: fail}
	if a != nil {
		d.Verdict, d.URI, d.VMs = a.Verdict, nullable(a.URI), vmEntries(a.VMs)
		if a.Notes != nil {
			d.Notes = a.Notes
		}
	}
	return d
}

// MatrixDoc is the JSON of `nestvirt matrix --format json`.
type MatrixDoc struct {
	Schema   string        `json:"schema"`
	Policy   string        `json:"policy"`
	Title    string        `json:"title"`
	Document string        `json:"document"`
	Tables   []MatrixTable `json:"tables"`
}

// MatrixTable is one table of the support matrix.
type MatrixTable struct {
	ID         string        `json:"id"`
	Level      policy.Level  `json:"level"`
	Book       string        `json:"book"`
	Source     string        `json:"source"`
	ArchSource string        `json:"arch_source"`
	L0         MatrixL0      `json:"l0"`
	L1         []MatrixGuest `json:"l1"`
	L2         []MatrixGuest `json:"l2"`
}

// MatrixL0 is what a table allows as the L0.
type MatrixL0 struct {
	OS         []string `json:"os"`
	Arch       []string `json:"arch"`
	CPU        []string `json:"cpu"`
	Hypervisor []string `json:"hypervisor"`
}

// MatrixGuest is one entry of an L1 or L2 column.
type MatrixGuest struct {
	OS    string  `json:"os"`
	Runs  *string `json:"runs"` // null where the table says nothing (an L2)
	Label string  `json:"label"`
}

// NewMatrixDoc is the policy's support matrix as a document.
func NewMatrixDoc(p *policy.Policy) MatrixDoc {
	doc := MatrixDoc{Schema: SchemaMatrix, Policy: p.Name, Title: p.Title, Document: p.Document, Tables: []MatrixTable{}}
	guests := func(gs []policy.GuestSpec) []MatrixGuest {
		out := []MatrixGuest{}
		for _, g := range gs {
			mg := MatrixGuest{OS: g.OS.Text, Label: g.Label()}
			if g.Runs != "" {
				mg.Runs = &g.Runs
			}
			out = append(out, mg)
		}
		return out
	}
	for _, r := range p.Matrix {
		t := MatrixTable{ID: r.ID, Level: r.Level, Book: r.Book, Source: p.Cite(r.Source), ArchSource: p.Cite(r.ArchSource),
			L0: MatrixL0{OS: []string{}, Arch: append([]string{}, r.L0.Arch...), CPU: append([]string{}, r.L0.CPU...), Hypervisor: append([]string{}, r.L0.Hypervisor...)},
			L1: guests(r.L1), L2: guests(r.L2)}
		for _, m := range r.L0.OS {
			t.L0.OS = append(t.L0.OS, m.Text)
		}
		doc.Tables = append(doc.Tables, t)
	}
	return doc
}

// PlanDoc is the JSON of `nestvirt plan --format json`. report.PlanJSON writes
// it topology by topology as it streams, byte for byte as encoding/json would
// write this type (TestPlanJSONIsThePlanDocument).
type PlanDoc struct {
	Schema string `json:"schema"`
	// Verdict is the worst verdict of the files judged; null when none was.
	Verdict    *policy.Level         `json:"verdict"`
	Topologies []plan.TopologyResult `json:"topologies"`
	Error      *Error                `json:"error"`
}

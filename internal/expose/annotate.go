package expose

import (
	"slices"
	"strings"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/topology"
)

// GuestRuns are what a guest can be recorded as running its own guests with:
// the values of a topology file's runs.
var GuestRuns = topology.GuestRuns

// Arches are the guest arches a definition can name (RHEL's).
var Arches = arch.RHEL

// Annotator records nestvirt's annotation of a domain (libvirt.Conn.Annotate).
type Annotator interface {
	Annotate(name, runs string, l2 []string, osName string) (domxml.Annotation, error)
}

// Annotation is what annotate records of a guest, its values checked: what it
// runs its guests with, which OSes they are, and (where libosinfo's metadata is
// missing or wrong) its own OS ("" keeps what is recorded).
type Annotation struct {
	Runs string
	L2   []string
	OS   string
}

// NewAnnotation checks annotate's values and gives them as libosinfo short
// ids; a bad one is fault.Input (nothing need be asked of libvirt).
func NewAnnotation(runs string, l2 []string, osName string) (Annotation, error) {
	if !slices.Contains(GuestRuns, runs) {
		return Annotation{}, fault.Inputf("--runs: unknown value %q (%s)", runs, strings.Join(GuestRuns, ", "))
	}
	a := Annotation{Runs: runs}
	for _, s := range l2 {
		o, err := osid.Parse(s)
		if err != nil {
			return Annotation{}, fault.Inputf("--l2: %w", err)
		}
		a.L2 = append(a.L2, o.ID)
	}
	if len(a.L2) > 0 && runs == "none" {
		return Annotation{}, fault.Inputf("--l2 needs --runs kvm, hyper-v or wsl2: a guest that runs none has no guests")
	}
	if osName != "" {
		o, err := osid.Parse(osName)
		if err != nil {
			return Annotation{}, fault.Inputf("--os: %w", err)
		}
		a.OS = o.ID
	}
	return a, nil
}

// On records the annotation on the domain name (libvirt's metadata API, in
// nestvirt's namespace), and gives what is recorded now.
func (a Annotation) On(conn Annotator, name string) (domxml.Annotation, error) {
	return conn.Annotate(name, a.Runs, a.L2, a.OS)
}

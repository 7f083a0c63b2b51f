// Package topology is the model of a planned nested deployment: one L0 host, its L1
// guests, and their guests in turn, loaded strictly from a version 1 topology file.
package topology

import (
	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// Allowed values of the enumerated fields: the facts' vocabulary.
var (
	Arches          = arch.RHEL
	CPUs            = facts.CPUs
	HostHypervisors = facts.Hypervisors
	Platforms       = facts.Platforms
	GuestRuns       = facts.GuestRuns
)

// Topology is one planned deployment.
type Topology struct {
	File string // where it was read from ("-" for stdin)
	Name string // optional; "" when the file gives none
	Host Host
}

// Host is the L0.
type Host struct {
	Name       string
	OS         *osid.OS // nil when not given (allowed when Hypervisor is not kvm)
	Arch       string
	CPU        string // "intel", "amd"; "" on arches where the vendor is implied
	Hypervisor string
	Platform   string
	Nested     bool
	Hugepages  bool
	Migration  bool
	Guests     []*Guest
}

// Guest is an L1 or deeper VM.
type Guest struct {
	Name string
	OS   *osid.OS // nil when not given
	// Runs is what the guest runs its own guests with: kvm, hyper-v, wsl2 or
	// none. RunsStated says the file wrote it (hypervisor:); otherwise it is
	// inferred: kvm for a Linux guest with guests, none for one without.
	Runs       string
	RunsStated bool
	// Migrates: the guest is live-migrated off its host; nil takes the host's
	// migration flag.
	Migrates *bool
	// Hugepages: its host backs it with huge pages.
	Hugepages bool
	// Build is a Windows guest's build number (0: not given).
	Build  int
	Guests []*Guest
}

// Chain is a path from the host to a leaf guest (or the host alone when it has no
// guests). Guests[0] is the L1, Guests[1] the L2, and so on.
type Chain struct {
	Host   *Host
	Guests []*Guest
}

// Path is the chain's node names, host first.
func (c Chain) Path() []string {
	p := make([]string, 0, 1+len(c.Guests))
	p = append(p, c.Host.Name)
	for _, g := range c.Guests {
		p = append(p, g.Name)
	}
	return p
}

// Chains lists every path from the host to a leaf, depth first in file order.
func (t *Topology) Chains() []Chain {
	var out []Chain
	if len(t.Host.Guests) == 0 {
		return []Chain{{Host: &t.Host}}
	}
	var walk func(prefix []*Guest, gs []*Guest)
	walk = func(prefix []*Guest, gs []*Guest) {
		for _, g := range gs {
			p := append(prefix[:len(prefix):len(prefix)], g)
			if len(g.Guests) == 0 {
				out = append(out, Chain{Host: &t.Host, Guests: p})
				continue
			}
			walk(p, g.Guests)
		}
	}
	walk(nil, t.Host.Guests)
	return out
}

package hostconf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Outcome is what Change did, or with a dry run would do.
type Outcome struct {
	Plan Plan
	// Written are the files written, each as a path on the machine.
	Written []Written
}

// Written is one file Change wrote.
type Written struct {
	Path    string // where it is on the machine (under a snapshot's directory for one)
	Created bool   // it did not exist: there is no previous version
	Backup  string // its previous version, when it had one
	Orig    string // its version before nestvirt first changed it
}

// Change turns nesting on or off (req) on the machine at dir: this one ("/"),
// whose KVM module is reloaded when no VM runs (running asks libvirt which
// do; without libvirt the module's use count still protects them), or a
// snapshot tree, where loading is simulated. With dryRun it plans only, and
// names the temporary files an interrupted run left. Errors are marked (fault):
// a dir that cannot be opened is bad input, a rule's or a safety check's
// refusal is Refused, the rest (a reload that failed after writing) Dependency.
func Change(dir string, facts probe.Facts, req Request, dryRun bool, running func() ([]string, error)) (Outcome, error) {
	root, err := fsroot.Open(dir)
	if err != nil {
		return Outcome{}, fault.Inputf("--root %s: %w", dir, err)
	}
	defer root.Close()
	var mods Modules
	var vms []string
	var vmsErr error
	var notes []string
	if root.Live() {
		mods = System{Root: root}
		vms, vmsErr = running()
	} else {
		mods = Tree{Root: root}
		notes = append(notes, fmt.Sprintf("--root: module loading is simulated in %s, and which VMs run there cannot be asked; only the tree's sys/module/*/refcnt stands for them", dir))
	}
	var o Outcome
	var written []string
	if dryRun {
		o.Plan, err = PlanNested(root, facts, req, mods, vms, vmsErr)
		if l := Leftovers(root); len(l) > 0 {
			notes = append(notes, fmt.Sprintf("%d temporary files an interrupted nestvirt left in modprobe.d (the next enable or disable removes them): %s", len(l), strings.Join(l, ", ")))
		}
	} else {
		o.Plan, written, err = Run(root, facts, req, mods, vms, vmsErr)
	}
	o.Plan.Notes = append(notes, o.Plan.Notes...)
	for _, w := range written {
		created := false
		for _, c := range o.Plan.Changes {
			if c.Path == w {
				created = c.Created
			}
		}
		real := root.Real(w)
		wr := Written{Path: real, Created: created}
		if !created {
			wr.Backup, wr.Orig = real+fsroot.BackupSuffix, real+fsroot.OrigSuffix
		}
		o.Written = append(o.Written, wr)
	}
	switch {
	case errors.Is(err, ErrRefused):
		return o, fault.Refused{Err: err}
	case err != nil:
		return o, fault.Dependency{Err: err}
	}
	return o, nil
}

package actions

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/hostconf"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/rootexec"
)

// Source is where a document's machine was read, as check's flags name it
// (inspect.Source): at most one of them is set; none is this machine.
type Source struct {
	Snapshot string // --root, other than "/"
	HostRoot string // --host-root
	Sos      string // --sos
}

// OfMachine is what nestvirt could change on the machine src names (OfHost):
// this machine, or a snapshot directory; never a sosreport, an archive or a
// node seen from a container. policyFile is the --policy the guard would be
// installed with ("" for the embedded policy).
func OfMachine(src Source, facts probe.Facts, policyFile string) []Action {
	h := Host{Facts: facts}
	root := src.Snapshot
	switch {
	case src.Sos != "":
		h.Unchangeable = "this is the machine of a sosreport: nestvirt changes the machine it runs on, or a snapshot directory, not a report"
	case src.HostRoot != "":
		h.Unchangeable = "--host-root reads a node from a container: run nestvirt on the node itself to change it"
	default:
		dir := root
		if dir == "" {
			dir = "/"
		}
		tree, err := fsroot.Open(dir)
		if err != nil {
			if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
				h.Unchangeable = "--root " + dir + " is a snapshot archive: nestvirt changes the machine it runs on, or a snapshot directory, not an archive"
			} else {
				h.Unchangeable = fmt.Sprintf("--root %s: %v", dir, err)
			}
			break
		}
		defer tree.Close()
		h.Tree = tree
		if !tree.Live() {
			h.Mods, h.Root = hostconf.Tree{Root: tree}, dir
			break
		}
		h.Mods = hostconf.System{Root: tree}
	}
	h.NoGuard = h.Unchangeable
	switch {
	case h.NoGuard != "":
	case h.Root != "":
		h.NoGuard = "the guard is installed into the libvirt of the machine nestvirt runs on, not into a snapshot: check this machine without --root to see it"
	default:
		bin, err := rootexec.Self("")
		if err != nil {
			h.NoGuard = "which binary the hook would run is not known: " + err.Error()
			break
		}
		h.HooksDir, h.Guard = guard.DefaultHooksDir, guard.Config{Binary: bin, Mode: guard.Enforce}
		if policyFile != "" {
			if abs, err := filepath.Abs(policyFile); err == nil {
				h.Guard.Policy = abs
			}
		}
	}
	return OfHost(h)
}

// OfVMs is the actions of each VM audited judged (OfVM), in its order; facts
// are the host's as expose reads them; src is where the host was read (a
// sosreport's domains cannot be changed).
func OfVMs(audited *judge.Audit, facts probe.Facts, src Source) [][]Action {
	if audited == nil {
		return nil
	}
	d := Domains{URI: audited.URI, Root: src.Snapshot}
	if src.Sos != "" {
		d.Unchangeable = "a domain of a sosreport: nestvirt changes the domains of a running libvirt, not a report's"
	}
	out := make([][]Action, len(audited.VMs))
	for i, vm := range audited.VMs {
		out[i] = OfVM(facts, vm.VM, d)
	}
	return out
}

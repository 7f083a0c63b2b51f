package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nestvirt/nestvirt/internal/actions"
	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/hostconf"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/rootexec"
)

// defaultHooksDir is libvirt's hook directory, where guard install writes.
const defaultHooksDir = "/etc/libvirt/hooks"

// hostActions is what nestvirt could change on the machine check judged
// (actions.OfHost): the live machine, or a snapshot directory; never a
// sosreport, an archive or a node seen from a container.
func (a *app) hostActions(o checkOptions, facts probe.Facts) []actions.Action {
	h := actions.Host{Facts: facts}
	switch {
	case o.sos != "":
		h.Unchangeable = "this is the machine of a sosreport: nestvirt changes the machine it runs on, or a snapshot directory, not a report"
	case o.hostRoot != "":
		h.Unchangeable = "--host-root reads a node from a container: run nestvirt on the node itself to change it"
	default:
		tree, err := fsroot.Open(o.root)
		if err != nil {
			if st, serr := os.Stat(o.root); serr == nil && !st.IsDir() {
				h.Unchangeable = "--root " + o.root + " is a snapshot archive: nestvirt changes the machine it runs on, or a snapshot directory, not an archive"
			} else {
				h.Unchangeable = fmt.Sprintf("--root %s: %v", o.root, err)
			}
			break
		}
		defer tree.Close()
		h.Tree = tree
		if !tree.Live() {
			h.Mods, h.Root = hostconf.Tree{Root: tree}, o.root
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
		h.HooksDir, h.Guard = defaultHooksDir, guard.Config{Binary: bin, Mode: guard.Enforce}
		if a.policyFile != "" {
			if abs, err := filepath.Abs(a.policyFile); err == nil {
				h.Guard.Policy = abs
			}
		}
	}
	return actions.OfHost(h)
}

// vmActions fills each VM entry's actions (actions.OfVM): vms are from
// audited, in the same order; facts are the host's as expose reads them.
func vmActions(entries []doc.VMEntry, audited *judge.Audit, facts probe.Facts, root, sos string) {
	if audited == nil {
		return
	}
	d := actions.Domains{URI: audited.URI}
	if root != "/" {
		d.Root = root
	}
	if sos != "" {
		d.Unchangeable = "a domain of a sosreport: nestvirt changes the domains of a running libvirt, not a report's"
	}
	for i := range entries {
		entries[i].Actions = actions.OfVM(facts, audited.VMs[i].VM, d)
	}
}

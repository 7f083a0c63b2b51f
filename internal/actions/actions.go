// Package actions says which of nestvirt's changes apply to what a document
// describes, and why the others do not: the list a front end (the web
// console's page) offers, so that it never offers what nestvirt would refuse.
// Each answer comes from the code the action itself runs (hostconf's plan,
// the guard's preview, judge.Exposable), not from a second reading of the
// facts, so the list and the command cannot disagree.
package actions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/hostconf"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// ID names an action.
type ID string

// The actions nestvirt offers.
const (
	Enable         ID = "enable"
	Disable        ID = "disable"
	GuardInstall   ID = "guard-install"
	GuardUninstall ID = "guard-uninstall"
	Expose         ID = "expose"
	Unexpose       ID = "unexpose"
)

// Enum lists the IDs, for the schema.
func (ID) Enum() []string {
	return []string{string(Enable), string(Disable), string(GuardInstall), string(GuardUninstall), string(Expose), string(Unexpose)}
}

// Action is one change nestvirt can be asked to make: whether nestvirt would
// go on with it here and, when not, why in nestvirt's words; the command and
// its dry run as nestvirt's arguments (flags first, then "--" before a
// domain's name, so no name is read as a flag). Every action changes the
// machine and needs root.
type Action struct {
	ID ID `json:"id"`
	// Possible is null when it could not be told as the user nestvirt ran as
	// (a file only root reads); the dry run, as root, tells.
	Possible *bool    `json:"possible"`
	Why      *string  `json:"why"`     // why not, or why unknown; null when possible
	Command  []string `json:"command"` // nestvirt's arguments
	DryRun   []string `json:"dry_run"` // the same with --dry-run: what would change, changing nothing
}

func possible(id ID, cmd, dry []string) Action {
	yes := true
	return Action{ID: id, Possible: &yes, Command: cmd, DryRun: dry}
}

func not(id ID, cmd, dry []string, why string) Action {
	no := false
	return Action{ID: id, Possible: &no, Why: &why, Command: cmd, DryRun: dry}
}

// refused is the action nestvirt refuses with err; one it could not judge for
// want of permission is unknown, and the dry run (as root) tells.
func refused(id ID, cmd, dry []string, err error) Action {
	why := strings.TrimPrefix(err.Error(), hostconf.ErrRefused.Error()+": ")
	if errors.Is(err, fs.ErrPermission) {
		why = "not known as uid " + strconv.Itoa(os.Geteuid()) + " (" + why + "): its dry run, with administrative access, tells"
		return Action{ID: id, Why: &why, Command: cmd, DryRun: dry}
	}
	return not(id, cmd, dry, why)
}

// Host is what the host's actions are judged on.
type Host struct {
	Facts probe.Facts
	// Tree is the machine nestvirt would change (the live / or a snapshot
	// tree); nil when the document's machine is not one nestvirt can change,
	// and Unchangeable says why (a sosreport, a snapshot archive, a node's
	// root seen from a container).
	Tree         *fsroot.Dir
	Unchangeable string
	Mods         hostconf.Modules
	// Root is the --root the commands carry ("" for this machine).
	Root string
	// HooksDir is libvirt's hook directory, for the guard's actions; "" when
	// the guard is not this document's to install (a snapshot, a report).
	HooksDir string
	NoGuard  string // why there are no guard actions, when HooksDir is ""
	// Guard is the hook install would write (its binary, policy, mode).
	Guard guard.Config
}

// OfHost is the host's actions: enable, disable, guard install and uninstall.
func OfHost(h Host) []Action {
	root := func(verb ...string) []string {
		if h.Root != "" {
			verb = append(verb, "--root", h.Root)
		}
		return verb
	}
	out := []Action{nesting(h, true, root("enable"), root("enable", "--dry-run")), nesting(h, false, root("disable"), root("disable", "--dry-run"))}
	install, uninstall := []string{"guard", "install"}, []string{"guard", "uninstall"}
	if h.Guard.Policy != "" {
		install = append(install, "--policy", h.Guard.Policy)
	}
	dryIn, dryUn := append(slices.Clone(install), "--dry-run"), []string{"guard", "uninstall", "--dry-run"}
	if h.HooksDir == "" {
		return append(out, not(GuardInstall, install, dryIn, h.NoGuard), not(GuardUninstall, uninstall, dryUn, h.NoGuard))
	}
	// What install would write: the same preview its --dry-run prints. The
	// binary is run only by the dry run (install's last check).
	if err := guard.CheckBinary(h.Guard.Binary); err != nil {
		out = append(out, refused(GuardInstall, install, dryIn, err))
	} else if path, prev, next, err := guard.Preview(h.HooksDir, h.Guard); err != nil {
		out = append(out, refused(GuardInstall, install, dryIn, err))
	} else if string(prev) == string(next) {
		out = append(out, not(GuardInstall, install, dryIn, "the guard is installed at "+path+" as this would install it: nothing to change"))
	} else {
		out = append(out, possible(GuardInstall, install, dryIn))
	}
	switch path, prev, left, err := guard.PreviewUninstall(h.HooksDir); {
	case err != nil:
		out = append(out, refused(GuardUninstall, uninstall, dryUn, err))
	case prev == nil && len(left) == 0:
		out = append(out, not(GuardUninstall, uninstall, dryUn, "no guard is installed at "+path+": nothing to remove"))
	default:
		out = append(out, possible(GuardUninstall, uninstall, dryUn))
	}
	return out
}

// nesting is enable's or disable's action, from the plan their dry run prints
// (which VMs run is not asked: it decides only when, never whether).
func nesting(h Host, enable bool, cmd, dry []string) Action {
	id := Disable
	if enable {
		id = Enable
	}
	if h.Tree == nil {
		return not(id, cmd, dry, h.Unchangeable)
	}
	p, err := hostconf.PlanNested(h.Tree, h.Facts, hostconf.Request{Enable: enable}, h.Mods, nil, nil)
	if err != nil {
		return refused(id, cmd, dry, err)
	}
	if len(p.Changes) == 0 && len(p.Commands) == 0 {
		state := map[bool]string{true: "on", false: "off"}[enable]
		if p.Live {
			return not(id, cmd, dry, fmt.Sprintf("nesting is already %s in %s, now and at the next load: nothing to change", state, p.Module))
		}
		return not(id, cmd, dry, fmt.Sprintf("modprobe.d already sets nesting %s in %s; it applies at the module's next load: nothing to change", state, p.Module))
	}
	return possible(id, cmd, dry)
}

// Domains is where a document's VMs are, for their actions.
type Domains struct {
	URI  string // the libvirt URI the commands carry
	Root string // the --root whose facts expose uses ("" for this machine)
	// Unchangeable says why no VM can be changed, when none can (the domains
	// of a sosreport).
	Unchangeable string
}

// OfVM is a VM's actions: expose and unexpose. host are the facts of the host
// it runs on, as expose reads them.
func OfVM(host probe.Facts, vm domxml.VM, d Domains) []Action {
	flags := func(verb string, root, dry bool) []string {
		a := []string{verb}
		if d.URI != "" {
			a = append(a, "--connect", d.URI)
		}
		if root && d.Root != "" {
			a = append(a, "--root", d.Root)
		}
		if dry {
			a = append(a, "--dry-run")
		}
		return append(a, "--", vm.Name)
	}
	ex, exDry := flags("expose", true, false), flags("expose", true, true)
	un, unDry := flags("unexpose", false, false), flags("unexpose", false, true)
	switch {
	case d.Unchangeable != "":
		return []Action{not(Expose, ex, exDry, d.Unchangeable), not(Unexpose, un, unDry, d.Unchangeable)}
	case vm.Error != "":
		why := "its definition could not be read: " + vm.Error
		return []Action{not(Expose, ex, exDry, why), not(Unexpose, un, unDry, why)}
	}
	var out []Action
	_, refusal := judge.Exposable(host)
	switch {
	case refusal != nil:
		out = append(out, not(Expose, ex, exDry, refusal.Error()))
	case vm.Exposes != nil && *vm.Exposes:
		out = append(out, not(Expose, ex, exDry, "it exposes virtualization already ("+vm.Why+")"))
	default:
		out = append(out, possible(Expose, ex, exDry))
	}
	// Unexpose restores what nestvirt's own expose replaced, from its record.
	switch {
	case vm.Undoable == nil:
		why := "nestvirt's record in its definition could not be read: its dry run tells whether there is an expose to undo"
		out = append(out, Action{ID: Unexpose, Why: &why, Command: un, DryRun: unDry})
	case !*vm.Undoable:
		out = append(out, not(Unexpose, un, unDry, "nestvirt has no record of exposing it: nothing to restore"))
	default:
		out = append(out, possible(Unexpose, un, unDry))
	}
	return out
}

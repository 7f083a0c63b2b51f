package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/hostconf"
	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// What the actions (enable, disable, expose, unexpose, annotate, guard) say
// of what they did: the result on w (stdout), what they noticed beside it on
// errw (stderr), as "nestvirt: note: ..." lines a script can tell apart.

// Notes writes each line as "nestvirt: KIND: line" ("nestvirt: line" for no kind).
func Notes(errw io.Writer, kind string, lines []string) {
	prefix := "nestvirt: "
	if kind != "" {
		prefix += kind + ": "
	}
	for _, l := range lines {
		fmt.Fprintf(errw, "%s%s\n", prefix, l)
	}
}

// HostChange says what enable or disable did (or, with dryRun, would do): the
// files written, then the diffs and commands of a dry run or the module's state.
// The files are said before err: what was written stays said when a later step failed.
func HostChange(w, errw io.Writer, out hostconf.Outcome, enable, dryRun bool, err error) error {
	plan := out.Plan
	Notes(errw, "warning", plan.Warnings)
	for _, c := range plan.Conflicts {
		fmt.Fprintf(errw, "nestvirt: note: also set in %s\n", c)
	}
	Notes(errw, "note", plan.Notes)
	for _, f := range out.Written {
		if f.Created {
			fmt.Fprintf(w, "created %s (it did not exist, so there is no previous version)\n", f.Path)
		} else {
			fmt.Fprintf(w, "wrote %s (previous version: %s; before nestvirt first changed it: %s)\n", f.Path, f.Backup, f.Orig)
		}
	}
	if err != nil {
		return err
	}
	if dryRun {
		for _, c := range plan.Changes {
			if err := Diff(w, c.Path, c.Old, c.New, c.Created); err != nil {
				return err
			}
		}
		for _, c := range plan.Commands {
			fmt.Fprintf(w, "# then: %s\n", c)
		}
		if len(plan.Changes) == 0 && len(plan.Commands) == 0 {
			fmt.Fprintln(w, "# nothing to change")
		}
		return nil
	}
	state := map[bool]string{true: "on", false: "off"}[enable]
	switch {
	case plan.Reload:
		fmt.Fprintf(w, "reloaded %s: nesting is %s now\n", plan.Module, state)
	case plan.Live && len(out.Written) == 0:
		fmt.Fprintf(w, "nesting is already %s in %s, now and at the next load: nothing to change\n", state, plan.Module)
	case plan.Live:
		fmt.Fprintf(w, "nesting is %s in %s now, and will stay %s at the next load\n", state, plan.Module, state)
	default:
		fmt.Fprintf(w, "nesting will be %s in %s at its next reload or boot\n", state, plan.Module)
	}
	return nil
}

// Annotated says what annotate recorded.
func Annotated(w io.Writer, name string, ann domxml.Annotation) {
	fmt.Fprintf(w, "%s: runs %s", name, ann.Runs)
	if len(ann.L2) > 0 {
		fmt.Fprintf(w, " with L2 %s", strings.Join(ann.L2, ", "))
	}
	if ann.OS != "" {
		fmt.Fprintf(w, "; OS %s", ann.OS)
	}
	fmt.Fprintln(w, " (recorded in its metadata)")
}

// DomainChange says what expose or unexpose did to a domain through libvirt,
// or with dryRun the diff of its definition.
func DomainChange(w, errw io.Writer, name string, ch libvirt.Change, dryRun bool) error {
	Notes(errw, "", ch.Notes)
	if dryRun {
		return Diff(w, name, ch.Before, ch.After, false)
	}
	switch {
	case !ch.Changed:
		fmt.Fprintf(w, "%s: nothing to change\n", name)
	case ch.Active:
		fmt.Fprintf(w, "%s: definition updated; it keeps running, and the change applies at its next cold boot (shut it down, then start it: a reboot from inside keeps the old CPU)\n", name)
	default:
		fmt.Fprintf(w, "%s: definition updated; it applies at its next start\n", name)
	}
	return nil
}

// GuardPreview is guard install --dry-run: the hook's diff and what it runs.
func GuardPreview(w io.Writer, path string, prev, next []byte, c guard.Config) error {
	if string(prev) == string(next) {
		fmt.Fprintf(w, "# nothing to change: %s is installed as this would install it\n", path)
		return nil
	}
	if err := Diff(w, path, prev, next, prev == nil); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "# mode 0755, owner root; it runs %s with %s (mode %s)\n# then: restart libvirtd or virtqemud if no qemu hook was active when it started (it reads the hook directory at start)\n", c.Binary, c.PolicyName(), c.Mode)
	return err
}

// GuardInstalled says what guard install did.
func GuardInstalled(w io.Writer, path string, c guard.Config) {
	fmt.Fprintf(w, "installed %s (mode %s), running %s with %s\nrestart libvirtd or virtqemud if no qemu hook was active when it started: it reads the hook directory at start\n", path, c.Mode, c.Binary, c.PolicyName())
}

// GuardUninstalled says what guard uninstall did.
func GuardUninstalled(w io.Writer, path string, removed bool) {
	if !removed {
		fmt.Fprintf(w, "no guard installed at %s: nothing to do\n", path)
		return
	}
	fmt.Fprintf(w, "removed %s\n", path)
}

// GuardUninstallPreview is guard uninstall --dry-run: the hook's text removed,
// and the leftovers of an interrupted install.
func GuardUninstallPreview(w io.Writer, path string, prev []byte, left []string) error {
	if prev != nil {
		if err := DiffRemove(w, path, prev); err != nil {
			return err
		}
	}
	for _, l := range left {
		fmt.Fprintf(w, "# then: remove %s (left by an interrupted install)\n", l)
	}
	if prev == nil && len(left) == 0 {
		fmt.Fprintf(w, "# nothing to change: no guard installed at %s\n", path)
	}
	return nil
}

// GuardStatus says how the installed hook stands and what it would decide.
func GuardStatus(w io.Writer, st guard.Status) {
	switch {
	case !st.Installed:
		fmt.Fprintf(w, "not installed (%s)\n", st.Path)
	case !st.Ours:
		fmt.Fprintf(w, "%s exists but is not nestvirt's\n", st.Path)
	default:
		fmt.Fprintf(w, "installed: %s\n", st.Path)
		if c := st.Config; c != nil {
			fmt.Fprintf(w, "  runs:   %s (mode %s%s)\n", c.Binary, c.Mode, map[bool]string{true: ", fail-closed"}[c.FailClosed])
		}
		fmt.Fprintf(w, "  policy: %s\n", st.PolicyName)
	}
	for _, would := range st.Would {
		fmt.Fprintf(w, "on this host, %s would be %s\n", would.What, would.Verdict)
	}
	if len(st.Problems) > 0 {
		fmt.Fprintln(w, "problems:")
		for _, pr := range st.Problems {
			fmt.Fprintf(w, "  - %s\n", pr)
		}
	}
}

// Package hostconf changes the host: the KVM module's nested (and IBM Z hpage)
// setting in modprobe.d, and reloading the module when that is safe. Every file
// access is confined to the root (fsroot), every write is atomic, conditional on
// the file still being what was read, and keeps the first and the last previous
// version beside the file; the module is loaded behind an interface so tests and
// snapshot trees never touch the kernel.
package hostconf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/modprobe"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/runlock"
)

// Modules loads and unloads kernel modules. The real one runs modprobe; a snapshot
// tree gets one that rewrites the tree's sysfs files as the kernel would.
type Modules interface {
	// Reload unloads and loads module, which then reads modprobe.d.
	Reload(module string) error
	// Users is the module's use count (a running VM holds one).
	Users(module string) (int, error)
}

// Request is what the user asked for.
type Request struct {
	Enable           bool
	DisableHugepages bool // IBM Z: set hpage=0 too, deliberately
	Now              bool // the change must take effect now, or nothing is done
}

// FileChange is one file written (or to write).
type FileChange struct {
	Path     string // relative to the root
	Old, New []byte
	Created  bool
	read     fsroot.Version // the file as planned from: the write is conditional on it
}

// Plan is what enable or disable will do.
type Plan struct {
	Module    string
	Params    map[string]string // what modprobe.d will set
	Changes   []FileChange
	Conflicts []string // other lines that set the parameter, for the user to know
	Warnings  []string
	Notes     []string
	Live      bool // the live value is already the desired one
	Reload    bool // the module will be reloaded now
	Commands  []string
}

// ErrRefused is a refusal: the request is understood but unsafe or impossible.
var ErrRefused = errors.New("refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// maxConfig bounds one modprobe.d file: real ones are a few lines; modprobe
// itself reads lines of any length, and nestvirt reports those over 64 KiB.
const maxConfig = 8 << 20

// PlanNested works out, from the machine's facts and its modprobe.d, how to set
// nesting. running lists the VMs running now (nil with an error when unknown).
func PlanNested(root *fsroot.Dir, f probe.Facts, req Request, mods Modules, running []string, runningErr error) (Plan, error) {
	a, vendor := probe.Str(f.Arch), probe.Str(f.CPUVendor)
	info := arch.Of(a, vendor)
	loaded := probe.Str(f.KVM.Module)
	module := probe.Str(f.KVM.ConfigModule)
	// The first real reason wins: what the CPU cannot do comes before which
	// module happens to be loaded (PVM is there because VMX/SVM is not).
	switch {
	case f.Windows != nil:
		return Plan{}, refuse("this is Windows: nestvirt enable and disable set nesting in Linux's KVM modules. For WSL2 or Hyper-V in this VM, nesting is turned on in the hypervisor below it (on a libvirt L0: nestvirt expose VM there, then shut this VM down and start it again); nothing written")
	case f.Arch == nil:
		return Plan{}, refuse("this machine's architecture is unknown (see nestvirt check), so which module carries nesting is unknown; nothing written")
	case !info.Nestable:
		return Plan{}, refuse("nested virtualization does not work on %s (only Intel, AMD and IBM Z); nothing written", a)
	case module == "" && info.Module != "" && probe.Str(f.VirtExt) == "none":
		where := "enable VT-x/AMD-V in the firmware"
		if lm := f.Virtualization.LevelMin; lm != nil && *lm >= 1 {
			where = fmt.Sprintf("this is a guest, and nesting for its guests starts below it: on the L0, nesting must be on in its KVM module (nestvirt enable there) and this VM must see %s (under libvirt: nestvirt expose VM there, with this VM's name, then shut this VM down and start it again)", info.Flag)
		}
		kvm := ""
		switch {
		case loaded == "kvm_pvm" && f.KVM.Available != nil && !*f.KVM.Available:
			kvm = " and there is no /dev/kvm (kvm_pvm is loaded: PVM, KVM without VMX or SVM, which has no nesting either)"
		case loaded == "kvm_pvm":
			kvm = " (the KVM here is PVM, kvm_pvm: KVM without VMX or SVM, which has no nesting to set)"
		case f.KVM.Available != nil && !*f.KVM.Available:
			kvm = " and there is no /dev/kvm"
		}
		return Plan{}, refuse("this CPU shows no %s%s, so %s cannot load and there is no nesting to set: %s; nothing written", info.Flag, kvm, info.Module, where)
	case loaded == "kvm_pvm":
		return Plan{}, refuse("KVM on this machine is PVM (kvm_pvm), which has no nesting to turn on or off; nothing written")
	case module == "":
		return Plan{}, refuse("which KVM module carries nesting here is unknown (CPU vendor %q); nothing written", vendor)
	}
	want := "0"
	if req.Enable {
		want = "1"
	}
	p := Plan{Module: module, Params: map[string]string{"nested": want}}
	if module == "kvm" && req.Enable {
		hp := (f.KVM.Hpage != nil && *f.KVM.Hpage) || (f.KVM.HpageNext != nil && *f.KVM.HpageNext)
		switch {
		case hp && !req.DisableHugepages:
			return Plan{}, refuse("huge-page backing is on (kvm hpage=1, live or in modprobe.d): on IBM Z, huge pages and nesting cannot be used together, and the kvm module refuses to load with both (EINVAL). Use --disable-hugepages to turn huge pages off and nesting on, deliberately")
		case hp || req.DisableHugepages:
			p.Params["hpage"] = "0"
		}
	}
	if vendor == "amd" && req.Enable {
		p.Warnings = append(p.Warnings, "AMD: with nesting on, live migration of this host's VMs does not work (a VM that ran an L2 can be corrupted, not refused); install 'nestvirt guard' to refuse such migrations")
	}

	files, versions, err := readConfig(root)
	if err != nil {
		return Plan{}, fmt.Errorf("%w; nothing written", err)
	}
	cmdline := ""
	if b, _, err := root.ReadFile("proc/cmdline", maxConfig); err == nil {
		cmdline = string(b)
	}
	cfg := modprobe.Parse(modprobe.Order(files), cmdline)
	for _, pr := range cfg.Problems {
		p.Notes = append(p.Notes, pr.String())
	}
	edited := map[string][]byte{}
	for _, param := range slices.Sorted(maps.Keys(p.Params)) {
		if err := p.editParam(cfg, files, edited, module, param, p.Params[param]); err != nil {
			return Plan{}, err
		}
	}
	// What modprobe will set once the edits are in place.
	after := make([]modprobe.File, 0, len(files)+1)
	seen := map[string]bool{}
	for _, fl := range files {
		if nw, ok := edited[fl.Path]; ok {
			fl.Data = nw
		}
		seen[fl.Path] = true
		after = append(after, fl)
	}
	for path, data := range edited {
		if !seen[path] {
			after = append(after, modprobe.File{Path: path, Data: data})
		}
	}
	newCfg := modprobe.Parse(modprobe.Order(after), cmdline)
	for param, v := range p.Params {
		last, all := newCfg.Effective(module, param)
		if last == nil {
			return Plan{}, refuse("after the edit, nothing would set %s.%s: the edit did not take; nothing written", module, param)
		}
		if last.Value != v {
			return Plan{}, refuse("after the edit, %s.%s would still be %s (%s): change that first", module, param, last.Value, last)
		}
		for _, s := range all[:len(all)-1] {
			if b, _ := modprobe.Bool(s.Value); (b && v == "0") || (!b && v == "1") {
				p.Conflicts = append(p.Conflicts, fmt.Sprintf("%s (overridden by the later line)", s))
			}
		}
	}
	for path, data := range edited {
		v, ok := versions[path]
		if !ok {
			if v, err = root.ReadVersion(path, maxConfig); err != nil {
				return Plan{}, err
			}
		}
		if string(v.Content) != string(data) {
			p.Changes = append(p.Changes, FileChange{Path: path, Old: v.Content, New: data, Created: !v.Exists, read: v})
		}
	}
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Path < p.Changes[j].Path })

	// Apply now only when nothing uses the module.
	live := f.KVM.Nested
	p.Live = live != nil && *live == req.Enable
	if p.Live || loaded == "" || loaded == "none" {
		if loaded == "" || loaded == "none" {
			p.Notes = append(p.Notes, module+" is not loaded: the setting applies when it is")
		}
		return p, nil
	}
	users, uerr := mods.Users(module)
	var why []string
	if runningErr != nil {
		p.Notes = append(p.Notes, "could not ask libvirt which VMs run ("+runningErr.Error()+"); relying on the module's use count")
	}
	if len(running) > 0 {
		why = append(why, "VMs running: "+strings.Join(running, ", "))
	}
	// What holds /dev/kvm, libvirt's or not; libvirt's own are named above.
	holders, hidden := KVMHolders(root)
	var others []string
	for _, h := range holders {
		if h.Name == "" || !slices.Contains(running, h.Name) {
			others = append(others, h.String())
		}
	}
	if len(others) > 0 {
		why = append(why, "processes using /dev/kvm: "+strings.Join(others, ", "))
	}
	if hidden > 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("%d processes could not be looked into for /dev/kvm (run as root to see them all)", hidden))
	}
	if uerr != nil {
		why = append(why, "the module's use count is unknown ("+uerr.Error()+")")
	} else if users > 0 {
		why = append(why, fmt.Sprintf("%s is in use (%d users)", module, users))
	}
	if len(why) > 0 {
		if req.Now {
			return Plan{}, refuse("cannot apply now: %s. Reloading %s under running VMs would crash them; stop them, or drop --now to apply at the next reload or boot. Nothing written", strings.Join(why, "; "), module)
		}
		p.Notes = append(p.Notes, "not reloading "+module+" now ("+strings.Join(why, "; ")+"): the setting applies at its next reload or at boot")
		return p, nil
	}
	p.Reload = true
	p.Commands = append(p.Commands, "modprobe -r "+module, "modprobe "+module)
	return p, nil
}

// readConfig reads every modprobe.d file modprobe would read, refusing what
// nestvirt must not edit around: unreadable files, directories named *.conf.
func readConfig(root *fsroot.Dir) ([]modprobe.File, map[string]fsroot.Version, error) {
	var files []modprobe.File
	versions := map[string]fsroot.Version{}
	for _, d := range modprobe.Dirs {
		for _, rel := range root.Glob(d + "/*.conf") {
			st, err := root.Stat(rel)
			if errors.Is(err, fsroot.ErrEscapes) {
				return nil, nil, err // the error names the file
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", root.Real(rel), err)
			}
			if !st.Mode().IsRegular() {
				return nil, nil, fmt.Errorf("%s: not a regular file (a directory?); modprobe cannot read it as configuration: fix it before changing nesting", root.Real(rel))
			}
			// One read gives both what is planned from and the version a write is
			// conditional on: two reads would let a change slip in between, be
			// planned without, and pass the check.
			if v, err := root.ReadVersion(rel, maxConfig); err == nil {
				versions[rel] = v
				files = append(files, modprobe.File{Path: rel, Data: v.Content})
				continue
			}
			// A symlink modprobe follows: read through it, never edited.
			data, _, err := root.ReadFile(rel, maxConfig)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", root.Real(rel), err)
			}
			files = append(files, modprobe.File{Path: rel, Data: data})
		}
	}
	return files, versions, nil
}

// editParam sets module.param=value in the configuration: on the line that sets
// it now when that line is in /etc/modprobe.d, else on the module's last options
// line there, else in /etc/modprobe.d/kvm.conf as the RHEL procedure does. A vendor
// file (/usr/lib/modprobe.d) is never edited: a file of the same name in
// /etc/modprobe.d hides it, as modprobe defines.
func (p *Plan) editParam(cfg modprobe.Config, files []modprobe.File, edited map[string][]byte, module, param, value string) error {
	content := func(path string) []byte {
		if b, ok := edited[path]; ok {
			return b
		}
		for _, f := range files {
			if f.Path == path {
				return f.Data
			}
		}
		return nil
	}
	last, _ := cfg.Effective(module, param)
	if last != nil && last.File == "" {
		return refuse("the kernel command line sets %s.%s=%s, which wins over modprobe.d: change it with grubby --update-kernel=ALL --remove-args=%s.%s", module, param, last.Value, module, param)
	}
	target := ""
	line := 0
	switch {
	case last != nil && strings.HasPrefix(last.File, "etc/modprobe.d/"):
		target, line = last.File, last.Line
	case last != nil:
		// A vendor file sets it: shadow that file from /etc/modprobe.d.
		target = "etc/modprobe.d/" + last.File[strings.LastIndex(last.File, "/")+1:]
		if content(target) == nil {
			edited[target] = append([]byte(nil), content(last.File)...)
		}
		line = last.Line
	default:
		for i := len(cfg.Settings) - 1; i >= 0; i-- {
			s := cfg.Settings[i]
			if s.Module == modprobe.Normalize(module) && strings.HasPrefix(s.File, "etc/modprobe.d/") {
				target, line = s.File, s.Line
				break
			}
		}
	}
	if target == "" {
		target = "etc/modprobe.d/kvm.conf"
		data := content(target)
		if data == nil {
			data = []byte("# Written by nestvirt: the KVM module's nested setting, read at its next load.\n")
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
		// Append to an options line of ours written by an earlier param in this plan.
		if i := findOptionsLine(data, module); i > 0 {
			nw, err := setOnLine(data, i, param, value)
			if err != nil {
				return err
			}
			edited[target] = nw
			return nil
		}
		edited[target] = append(data, []byte(fmt.Sprintf("options %s %s=%s\n", module, param, value))...)
		return nil
	}
	nw, err := setOnLine(content(target), line, param, value)
	if err != nil {
		return fmt.Errorf("%s:%d: %w", target, line, err)
	}
	edited[target] = nw
	return nil
}

// findOptionsLine returns the 1-based line of the last "options MODULE" line.
func findOptionsLine(data []byte, module string) int {
	found := 0
	for i, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "options" && modprobe.Normalize(f[1]) == modprobe.Normalize(module) {
			found = i + 1
		}
	}
	return found
}

// setOnLine sets param=value on the logical line starting at line (1-based),
// replacing an existing assignment or appending one, and keeping every other byte.
func setOnLine(data []byte, line int, param, value string) ([]byte, error) {
	lines := strings.SplitAfter(string(data), "\n")
	if line < 1 || line > len(lines) {
		return nil, fmt.Errorf("line %d is gone", line)
	}
	re := regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(param) + `=("[^"]*"|\S*)`)
	end := line
	for end <= len(lines) && strings.HasSuffix(strings.TrimRight(lines[end-1], "\n"), "\\") {
		end++
	}
	for i := line - 1; i < end && i < len(lines); i++ {
		if loc := re.FindStringSubmatchIndex(lines[i]); loc != nil {
			lines[i] = lines[i][:loc[4]] + value + lines[i][loc[5]:]
			return []byte(strings.Join(lines, "")), nil
		}
	}
	// Append to the end of the logical line, before any comment-free newline.
	i := min(end, len(lines)) - 1
	l := lines[i]
	nl := ""
	if strings.HasSuffix(l, "\n") {
		l, nl = strings.TrimSuffix(l, "\n"), "\n"
	}
	lines[i] = strings.TrimRight(l, " \t") + " " + param + "=" + value + nl
	return []byte(strings.Join(lines, "")), nil
}

// Apply writes the plan's files (atomically, each only if it is still what was
// planned from, with backups) and reloads the module when the plan says so. It
// returns the paths written. An error wrapping fsroot.ErrChanged means another
// writer changed a file meanwhile: plan again (Run does).
func Apply(root *fsroot.Dir, p Plan, mods Modules) ([]string, error) {
	var written []string
	for _, c := range p.Changes {
		if dir := c.Path[:strings.LastIndex(c.Path, "/")]; dir != "" {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return written, err
			}
		}
		read := c.read
		err := root.WriteAtomic(c.Path, c.New, fsroot.WriteOptions{Expect: &read, Backup: true, Mode: 0o644, Max: maxConfig})
		var race *fsroot.RaceError
		if errors.As(err, &race) {
			// Another writer added to the old file while it was replaced: put their
			// version back, with whatever was appended to ours since, and have the
			// caller plan again from it.
			cur, rerr := root.ReadVersion(c.Path, maxConfig)
			if rerr == nil {
				back, ok := bytes.CutPrefix(cur.Content, c.New)
				if !ok {
					rerr = errors.New("the file was rewritten meanwhile")
				} else {
					rerr = root.WriteAtomic(c.Path, append(race.Lost, back...), fsroot.WriteOptions{Expect: &cur, Max: maxConfig})
				}
			}
			if rerr != nil {
				return written, fmt.Errorf("%s: another writer's change was lost and could not be put back (%w); it is in nothing nestvirt kept: check the file", root.Real(c.Path), rerr)
			}
			return written, fmt.Errorf("%w (their change is kept)", fsroot.ErrChanged)
		}
		if err != nil {
			return written, err
		}
		written = append(written, c.Path)
	}
	if p.Reload {
		if err := mods.Reload(p.Module); err != nil {
			return written, &ReloadError{Module: p.Module, Written: written, Err: err}
		}
	}
	return written, nil
}

// lockWait bounds the wait for another nestvirt's edit of modprobe.d (a write
// and a module reload, which is bounded by the modprobe timeout).
const lockWait = 2 * time.Minute

// Leftovers lists the temporary files (".NAME.nestvirt-*") a killed write left
// in modprobe's directories: Run removes them, a dry run names them.
func Leftovers(root *fsroot.Dir) []string {
	var out []string
	for _, d := range modprobe.Dirs {
		for _, p := range root.Glob(d + "/.*.nestvirt-*") {
			if st, err := root.Lstat(p); err == nil && st.Mode().IsRegular() {
				out = append(out, p)
			}
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ReloadError is a module reload that failed after the files were written.
type ReloadError struct {
	Module  string
	Written []string
	Err     error
}

// ErrLeftUnloaded marks a reload whose unload worked and whose load failed: the
// module is not loaded now, so this host has no KVM until it is.
var ErrLeftUnloaded = errors.New("unloaded, and loading it again failed")

func (e *ReloadError) Error() string {
	if errors.Is(e.Err, ErrLeftUnloaded) {
		return fmt.Sprintf("reloading %s failed: %v. %s is NOT loaded now: this host has no KVM (no VM can start) until it is; fix the cause, then run 'modprobe %s' (the new setting is saved in modprobe.d and applies then)", e.Module, e.Err, e.Module, e.Module)
	}
	return fmt.Sprintf("reloading %s failed: %v. It is still loaded with its old setting; the new one is saved in modprobe.d and applies at its next load", e.Module, e.Err)
}

func (e *ReloadError) Unwrap() error { return e.Err }

// Run plans and applies, planning again (up to three times) when another writer
// changes a file in between, so no one's change is lost.
//
// nestvirt's own runs take turns (a lock only this user can take, per tree),
// so the temporary files a killed run left in modprobe's directories are
// stale once the lock is held: they are removed, and the plan says so.
func Run(root *fsroot.Dir, f probe.Facts, req Request, mods Modules, running []string, runningErr error) (Plan, []string, error) {
	unlock, err := runlock.Take(runlock.Dir(), runlock.Name("modprobe", root.Path()), lockWait)
	if err != nil {
		return Plan{}, nil, fmt.Errorf("waiting for another nestvirt editing modprobe.d: %w", err)
	}
	defer unlock()
	var removed []string
	for _, l := range Leftovers(root) {
		if root.Remove(l) == nil {
			removed = append(removed, root.Real(l))
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := PlanNested(root, f, req, mods, running, runningErr)
		if len(removed) > 0 {
			p.Notes = append(p.Notes, fmt.Sprintf("removed %d temporary %s an interrupted nestvirt left: %s", len(removed), plural(len(removed), "file", "files"), strings.Join(removed, ", ")))
		}
		if err != nil {
			return p, nil, err
		}
		written, err := Apply(root, p, mods)
		if errors.Is(err, fsroot.ErrChanged) {
			lastErr = err
			continue
		}
		return p, written, err
	}
	return Plan{}, nil, fmt.Errorf("modprobe.d kept changing while nestvirt edited it: %w; nothing more written", lastErr)
}

// System loads modules with modprobe, each call bounded in time, and reads use
// counts from /sys.
type System struct {
	Root    *fsroot.Dir
	Timeout time.Duration // per modprobe; 0 means one minute
}

// Reload runs modprobe -r and modprobe. When the unload worked and the load did
// not, the error wraps ErrLeftUnloaded.
func (s System) Reload(module string) error {
	if err := s.modprobe("-r", module); err != nil {
		return err
	}
	if err := s.modprobe(module); err != nil {
		return fmt.Errorf("%w: %w", ErrLeftUnloaded, err)
	}
	return nil
}

func (s System) modprobe(args ...string) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "modprobe", args...).CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("modprobe %s did not finish within %s", strings.Join(args, " "), timeout)
	}
	if err != nil {
		return fmt.Errorf("modprobe %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Users reads /sys/module/M/refcnt.
func (s System) Users(module string) (int, error) { return readRefcnt(s.Root, module) }

func readRefcnt(root *fsroot.Dir, module string) (int, error) {
	b, _, err := root.ReadFile("sys/module/"+module+"/refcnt", 64)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Tree stands for the kernel in a snapshot tree: Reload re-reads the tree's
// modprobe.d and writes the resulting parameters into its sysfs files, through
// the same confined writes as everything else.
type Tree struct{ Root *fsroot.Dir }

// Reload applies the tree's modprobe.d to sys/module/M/parameters.
func (t Tree) Reload(module string) error {
	files, _, err := readConfig(t.Root)
	if err != nil {
		return err
	}
	cfg := modprobe.Parse(modprobe.Order(files), "")
	for _, param := range []string{"nested", "hpage"} {
		last, _ := cfg.Effective(module, param)
		rel := "sys/module/" + module + "/parameters/" + param
		if last == nil {
			continue
		}
		if _, err := t.Root.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
			continue // the module has no such parameter
		} else if err != nil {
			return err // a parameter the tree cannot hold (a symlink out of it): nothing is applied
		}
		v := last.Value
		if module == "kvm_intel" {
			if b, _ := modprobe.Bool(v); b {
				v = "Y"
			} else {
				v = "N"
			}
		}
		if err := t.Root.WriteAtomic(rel, []byte(v+"\n"), fsroot.WriteOptions{Max: 64}); err != nil {
			return err
		}
	}
	return nil
}

// Users reads the tree's refcnt (0 when absent).
func (t Tree) Users(module string) (int, error) {
	n, err := readRefcnt(t.Root, module)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return n, err
}

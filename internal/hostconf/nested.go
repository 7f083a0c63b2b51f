package hostconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nestvirt/nestvirt/internal/modprobe"
	"github.com/nestvirt/nestvirt/internal/probe"
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

// PlanNested works out, from the machine's facts and its modprobe.d, how to set
// nesting. running lists the VMs running now (nil with an error when unknown).
func PlanNested(root string, f probe.Facts, req Request, mods Modules, running []string, runningErr error) (Plan, error) {
	module := f.KVM.ConfigModule
	if f.KVM.Module != nil && *f.KVM.Module != "kvm_pvm" {
		module = *f.KVM.Module
	}
	switch {
	case f.KVM.Module != nil && *f.KVM.Module == "kvm_pvm":
		return Plan{}, refuse("KVM on this machine is PVM (kvm_pvm), which has no nesting to turn on or off; nothing written")
	case module == "" || !(probe.IsX86(f.Arch) || probe.IsIBMZ(f.Arch)):
		return Plan{}, refuse("no KVM module carries nesting on this machine (%s, CPU vendor %q): nested virtualization works on Intel, AMD and IBM Z only", orNA(f.Arch), f.CPUVendor)
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
	if f.CPUVendor == "amd" && req.Enable {
		p.Warnings = append(p.Warnings, "AMD: with nesting on, live migration of this host's VMs does not work (a VM that ran an L2 can be corrupted, not refused); install 'nestvirt guard' to refuse such migrations")
	}

	files, err := readConfig(root)
	if err != nil {
		return Plan{}, err
	}
	cmdline, _ := os.ReadFile(filepath.Join(root, "proc/cmdline"))
	cfg := modprobe.Parse(modprobe.Order(files), string(cmdline))
	for _, pr := range cfg.Problems {
		p.Notes = append(p.Notes, pr.String())
	}
	edited := map[string][]byte{}
	for _, param := range sortedKeys(p.Params) {
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
	newCfg := modprobe.Parse(modprobe.Order(after), string(cmdline))
	for param, v := range p.Params {
		last, all := newCfg.Effective(module, param)
		if last == nil || last.Value != v {
			return Plan{}, refuse("after the edit, %s.%s would still be %s (%s): change that first", module, param, last.Value, last)
		}
		for _, s := range all[:len(all)-1] {
			if b, _ := modprobe.Bool(s.Value); (b && v == "0") || (!b && v == "1") {
				p.Conflicts = append(p.Conflicts, fmt.Sprintf("%s (overridden by the later line)", s))
			}
		}
	}
	for path, data := range edited {
		old, err := os.ReadFile(filepath.Join(root, path))
		created := errors.Is(err, fs.ErrNotExist)
		if err != nil && !created {
			return Plan{}, fmt.Errorf("%s: %w", path, err)
		}
		if string(old) != string(data) {
			p.Changes = append(p.Changes, FileChange{Path: path, Old: old, New: data, Created: created})
		}
	}
	sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Path < p.Changes[j].Path })

	// Apply now only when nothing uses the module.
	live := f.KVM.Nested
	p.Live = live != nil && *live == req.Enable
	loaded := f.KVM.Module != nil
	if p.Live || !loaded {
		if !loaded {
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

func orNA(s string) string {
	if s == "" {
		return "unknown arch"
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readConfig reads every modprobe.d file modprobe would read, refusing what
// nestvirt must not edit around: unreadable files, directories named *.conf,
// symlinks out of the configuration directories.
func readConfig(root string) ([]modprobe.File, error) {
	var files []modprobe.File
	for _, d := range modprobe.Dirs {
		matches, _ := filepath.Glob(filepath.Join(root, d, "*.conf"))
		for _, m := range matches {
			rel, _ := filepath.Rel(root, m)
			rel = filepath.ToSlash(rel)
			st, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rel, err)
			}
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file (a directory?); modprobe cannot read it as configuration: fix it before changing nesting", rel)
			}
			data, err := os.ReadFile(m)
			if err != nil {
				return nil, fmt.Errorf("%s: %w; nothing written", rel, err)
			}
			files = append(files, modprobe.File{Path: rel, Data: data})
		}
	}
	return files, nil
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
		target = "etc/modprobe.d/" + filepath.Base(last.File)
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

// Apply writes the plan's files atomically (with backups) and reloads the module
// when the plan says so. It returns the paths written.
func Apply(root string, p Plan, mods Modules) ([]string, error) {
	var written []string
	for _, c := range p.Changes {
		path := filepath.Join(root, filepath.FromSlash(c.Path))
		if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
			return written, fmt.Errorf("%s is a symlink; nestvirt edits only regular files, so nothing was written to it", c.Path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return written, err
		}
		if err := WriteAtomic(path, c.New); err != nil {
			return written, err
		}
		written = append(written, c.Path)
	}
	if p.Reload {
		if err := mods.Reload(p.Module); err != nil {
			return written, fmt.Errorf("reloading %s: %w (the setting is saved and applies at the next load)", p.Module, err)
		}
	}
	return written, nil
}

// System loads modules with modprobe and reads use counts from /sys.
type System struct{}

// Reload runs modprobe -r and modprobe.
func (System) Reload(module string) error {
	if out, err := exec.Command("modprobe", "-r", module).CombinedOutput(); err != nil {
		return fmt.Errorf("modprobe -r %s: %v: %s", module, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("modprobe", module).CombinedOutput(); err != nil {
		return fmt.Errorf("modprobe %s: %v: %s", module, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Users reads /sys/module/M/refcnt.
func (System) Users(module string) (int, error) { return readRefcnt("/", module) }

func readRefcnt(root, module string) (int, error) {
	b, err := os.ReadFile(filepath.Join(root, "sys/module", module, "refcnt"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Tree stands for the kernel in a snapshot tree: Reload re-reads the tree's
// modprobe.d and writes the resulting parameters into its sysfs files.
type Tree struct{ Root string }

// Reload applies the tree's modprobe.d to sys/module/M/parameters.
func (t Tree) Reload(module string) error {
	files, err := readConfig(t.Root)
	if err != nil {
		return err
	}
	cfg := modprobe.Parse(modprobe.Order(files), "")
	for _, param := range []string{"nested", "hpage"} {
		last, _ := cfg.Effective(module, param)
		path := filepath.Join(t.Root, "sys/module", module, "parameters", param)
		if last == nil {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			continue
		}
		v := last.Value
		if module == "kvm_intel" {
			if b, _ := modprobe.Bool(v); b {
				v = "Y"
			} else {
				v = "N"
			}
		}
		if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
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

// Package sos reads a sosreport, the diagnostics archive of RHEL systems, as the
// machine's "/": the files sos copied keep their paths (proc/cpuinfo,
// sys/module/*/parameters, etc/modprobe.d, ...), and the command outputs the probe
// needs are turned into the files it reads (uname -a and sysctl -a into
// proc/sys/kernel, dmidecode into sys/class/dmi/id, cpuid -r into cpuid.txt).
// What the report lacks is unknown, never guessed: a path is absent only where
// sos's own copy rules say so.
//
// A report is read from its directory or straight from its archive (.tar.xz,
// .tar.gz, .tar.bz2, .tar), into memory, keeping only the files nestvirt reads:
// nothing is extracted to disk, and no member can leave the report's tree.
package sos

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nestvirt/nestvirt/internal/archive"
)

// Limits of what a report may cost to read.
const MaxFile = archive.MaxFile // a kept file; the probe reads none larger

// The budget of a report's archive (package archive).
const (
	MaxExpanded = archive.MaxExpanded
	MaxRatio    = archive.MaxRatio
)

// ErrTooLarge is a file the report holds but nestvirt did not keep.
var ErrTooLarge = archive.ErrTooLarge

// ErrNotSosreport is a path that holds no sosreport.
var ErrNotSosreport = errors.New("not a sosreport")

// wanted are the paths (slash globs, relative to the report's root) nestvirt
// reads: the probe's inputs, libvirt's domain XML, and sos's own records.
var wanted = []string{
	"proc/cpuinfo", "proc/cmdline", "proc/sysinfo", "proc/misc", "proc/modules",
	"proc/sys/kernel/*", "proc/xen/*",
	"sys/module/*/parameters/*", "sys/module/*/refcnt",
	"sys/class/dmi/id/*", "sys/hypervisor/*", "sys/hypervisor/properties/*",
	"sys/devices/system/clocksource/clocksource0/*", "sys/firmware/dmi/entries/0-0/raw",
	"etc/os-release", "etc/*-release", "etc/hostname", "etc/nestvirt/host.yaml",
	"etc/modprobe.d/*", "usr/lib/os-release", "usr/lib/modprobe.d/*", "lib/modprobe.d/*",
	"run/modprobe.d/*", "usr/local/lib/modprobe.d/*",
	"etc/libvirt/qemu/*.xml", "run/libvirt/qemu/*.xml",
	"sos_commands/kernel/uname_-a", "sos_commands/kernel/sysctl_-a", "sos_commands/kernel/lsmod",
	"sos_commands/hardware/dmidecode", "sos_commands/processor/cpuid_-r", "sos_commands/host/hostname",
	"sos_commands/virsh/virsh_-r_*", "sos_commands/libvirt/virsh_-r_*",
	"version.txt", "sos_reports/manifest.json", "etc/machine-id",
	// What nestvirt's sos_extras drop-in recorded (deploy/sos/nestvirt).
	"sos_commands/sos_extras/nestvirt/*",
}

func isWanted(rel string) bool {
	for _, w := range wanted {
		if ok, _ := path.Match(w, rel); ok {
			return true
		}
	}
	return false
}

// Report is a sosreport read into memory.
type Report struct {
	*archive.Tree
	plugins map[string]bool // sos plugins whose output the report holds
	modules map[string]bool // loaded modules (proc/modules, lsmod); nil when unknown
	notes   []string
}

// Open reads a sosreport: its directory, or its archive.
func Open(p string) (*Report, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	_ = st
	t, err := archive.Open(p, archive.Options{Keep: isWanted, KeepDir: wantedDir, OneTop: true, What: "a sosreport"})
	if errors.Is(err, archive.ErrNotArchive) {
		return nil, fmt.Errorf("%w: %w", ErrNotSosreport, err)
	}
	if err != nil {
		return nil, err
	}
	r := &Report{Tree: t, plugins: map[string]bool{}}
	if !r.isSos() {
		return nil, fmt.Errorf("%s: %w: no sos_commands/, sos_reports/ or sos version.txt", p, ErrNotSosreport)
	}
	r.layout()
	return r, nil
}

// Files are the files the report holds in dir (a slash path), by name: the
// outputs of a sos_extras drop-in, for one. Files over MaxFile were not kept.
func (r *Report) Files(dir string) map[string][]byte {
	out := map[string][]byte{}
	ents, err := r.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if b, _, err := r.ReadFile(path.Join(dir, e.Name()), MaxFile); err == nil {
			out[e.Name()] = b
		}
	}
	return out
}

// CollectedAt is when sos started collecting the report: its manifest's
// start_time, which sos writes as Python's str(datetime.now()), the collecting
// host's local time with no zone; it is read as UTC (off by at most the host's
// offset).
func (r *Report) CollectedAt() (time.Time, bool) {
	b, _, err := r.ReadFile("sos_reports/manifest.json", 16<<20)
	if err != nil {
		return time.Time{}, false
	}
	var m struct {
		StartTime string `json:"start_time"`
	}
	if json.Unmarshal(b, &m) != nil {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02T15:04:05.999999", time.RFC3339} {
		if t, err := time.Parse(layout, m.StartTime); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// isSos tells a sosreport from any tree: sos writes these in every report.
func (r *Report) isSos() bool {
	for _, p := range []string{"sos_commands", "sos_reports/manifest.json"} {
		if _, err := r.Lstat(p); err == nil {
			return true
		}
	}
	if b, _, err := r.ReadFile("version.txt", 1<<16); err == nil && bytes.Contains(b, []byte("sosreport")) {
		return true
	}
	return false
}

// wantedDir says whether a directory may hold a wanted path.
func wantedDir(rel string) bool {
	depth := strings.Count(rel, "/") + 1
	for _, w := range wanted {
		parts := strings.Split(w, "/")
		if len(parts) <= depth {
			continue
		}
		if ok, _ := path.Match(strings.Join(parts[:depth], "/"), rel); ok {
			return true
		}
	}
	return false
}

// layout learns what the report holds and turns the command outputs the probe
// needs into the files it reads.
func (r *Report) layout() {
	if ents, err := r.ReadDir("sos_commands"); err == nil {
		for _, e := range ents {
			r.plugins[e.Name()] = true
		}
	}
	r.modules = r.loadedModules()
	r.kernelFiles()
	r.dmiFiles()
	if b, _, err := r.ReadFile("sos_commands/processor/cpuid_-r", MaxFile); err == nil && len(b) > 0 {
		r.synth("cpuid.txt", b)
	} else if r.plugins["processor"] {
		r.notes = append(r.notes, "the sosreport has no 'cpuid -r' output (the cpuid package was not installed): the hypervisor's CPUID signature is unknown")
	}
}

func (r *Report) synth(rel string, data []byte) {
	if _, err := r.Lstat(rel); err == nil {
		return // what sos copied wins
	}
	r.Add(rel, data)
}

// loadedModules reads proc/modules ("name size refcount deps state offset"), or
// lsmod's output (a "Module Size Used by" header, then "name size count ...").
// Anything else (lsmod's error on a kernel without modules) leaves them unknown.
func (r *Report) loadedModules() map[string]bool {
	parse := func(b []byte, header bool) map[string]bool {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if header {
			if len(lines) == 0 || !strings.HasPrefix(lines[0], "Module") {
				return nil
			}
			lines = lines[1:]
		}
		mods := map[string]bool{}
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) < 3 {
				return nil
			}
			if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
				return nil
			}
			mods[f[0]] = true
		}
		return mods
	}
	var mods map[string]bool
	if b, _, err := r.ReadFile("proc/modules", MaxFile); err == nil {
		mods = parse(b, false)
	} else if b, _, err := r.ReadFile("sos_commands/kernel/lsmod", MaxFile); err == nil {
		mods = parse(b, true)
	}
	// A module loaded without parameters has no directory sos copied: it is there.
	for m := range mods {
		if _, err := r.Lstat("sys/module/" + m); err != nil {
			r.AddDir("sys/module/" + m)
		}
	}
	return mods
}

var sysctlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^kernel\.(arch|osrelease|hostname) = (.*)$`) })

// kernelFiles writes proc/sys/kernel/{arch,osrelease,hostname} from sysctl -a,
// else uname -a, where sos did not copy them.
func (r *Report) kernelFiles() {
	if b, _, err := r.ReadFile("sos_commands/kernel/sysctl_-a", MaxFile); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if m := sysctlLine().FindStringSubmatch(l); m != nil {
				r.synth("proc/sys/kernel/"+m[1], []byte(m[2]+"\n"))
			}
		}
	}
	if b, _, err := r.ReadFile("sos_commands/kernel/uname_-a", 1<<16); err == nil {
		f := strings.Fields(string(b))
		// Linux NODENAME RELEASE VERSION... MACHINE [PROCESSOR PLATFORM] GNU/Linux
		if len(f) >= 5 && f[0] == "Linux" {
			r.synth("proc/sys/kernel/hostname", []byte(f[1]+"\n"))
			r.synth("proc/sys/kernel/osrelease", []byte(f[2]+"\n"))
			end := len(f) - 1
			if f[end] == "GNU/Linux" {
				end--
			}
			for end > 3 && f[end] == "unknown" {
				end--
			}
			r.synth("proc/sys/kernel/arch", []byte(f[end]+"\n"))
		}
	}
	if b, _, err := r.ReadFile("sos_commands/host/hostname", 1<<16); err == nil && len(bytes.TrimSpace(b)) > 0 {
		r.synth("proc/sys/kernel/hostname", b)
	}
}

// dmiFields map dmidecode's sections and keys to sysfs's files.
var dmiFields = []struct{ section, key, file string }{
	{"System Information", "Manufacturer", "sys_vendor"},
	{"System Information", "Product Name", "product_name"},
	{"System Information", "Version", "product_version"},
	{"Base Board Information", "Manufacturer", "board_vendor"},
	{"BIOS Information", "Vendor", "bios_vendor"},
	{"Chassis Information", "Asset Tag", "chassis_asset_tag"},
}

// dmiFiles writes sys/class/dmi/id/* from dmidecode when sos did not copy them.
func (r *Report) dmiFiles() {
	if _, err := r.Lstat("sys/class/dmi/id"); err == nil {
		return
	}
	b, _, err := r.ReadFile("sos_commands/hardware/dmidecode", MaxFile)
	if err != nil {
		return
	}
	section := ""
	found := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "Handle ") {
			continue
		}
		if !strings.HasPrefix(l, "\t") {
			section = strings.TrimSpace(l)
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			continue
		}
		for _, d := range dmiFields {
			if d.section == section && d.key == k {
				if _, seen := found[d.file]; !seen {
					found[d.file] = strings.TrimSpace(v)
				}
			}
		}
	}
	if len(found) == 0 {
		return
	}
	r.AddDir("sys/class/dmi/id")
	files := make([]string, 0, len(found))
	for f := range found {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		r.synth("sys/class/dmi/id/"+f, []byte(found[f]+"\n"))
	}
}

// collectedBy are paths sos copies whenever they exist on the machine, with the
// plugin that copies them: in a report of that plugin, a missing one is absent.
var collectedBy = []struct{ path, plugin string }{
	{"proc/cpuinfo", "processor"},
	{"proc/cmdline", "kernel"},
	{"proc/modules", "kernel"},
	{"proc/misc", "kernel"},
	{"etc/modprobe.d", "kernel"},
	{"sys/class/dmi/id", "hardware"},
	{"etc/libvirt/qemu", "libvirt"},
	{"run/libvirt/qemu", "libvirt"},
}

// wholesale are directories sos copies with everything in them: a path missing
// under one the report holds is absent.
var wholesale = []string{"etc/modprobe.d", "sys/module/*/parameters", "sys/class/dmi/id"}

// Absent says whether a path the report lacks is absent on the machine: sos
// would have copied it, or the module it belongs to is not loaded.
func (r *Report) Absent(rel string) bool {
	if rel == "cpuid.txt" {
		return false
	}
	for _, c := range collectedBy {
		if (rel == c.path || strings.HasPrefix(rel, c.path+"/")) && r.plugins[c.plugin] {
			if rel == c.path {
				return true
			}
			if _, err := r.Lstat(c.path); err != nil {
				return true // its directory is not there either
			}
		}
	}
	for _, w := range wholesale {
		dir := path.Dir(rel)
		if ok, _ := path.Match(w, dir); ok {
			if _, err := r.Lstat(dir); err == nil {
				return true
			}
		}
	}
	if m, ok := strings.CutPrefix(rel, "sys/module/"); ok && r.modules != nil {
		name, _, _ := strings.Cut(m, "/")
		if !r.modules[name] {
			if _, err := r.Lstat("sys/module/" + name); err != nil {
				return true // not loaded, and no parameters copied: not built in either
			}
		}
	}
	return false
}

// Notes says what the report lacks that nestvirt would have read.
func (r *Report) Notes() []string {
	return append([]string{"read from the sosreport " + r.Name() + ": what it did not collect is unknown"}, r.notes...)
}

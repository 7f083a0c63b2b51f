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
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// Limits of what a report may cost to read.
const (
	MaxFile  = 8 << 20  // a kept file; the probe reads none larger
	MaxKept  = 64 << 20 // all kept files together
	MaxFiles = 200_000  // members looked at in an archive
)

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
	*tree
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
	t := newTree(filepath.Base(p))
	if st.IsDir() {
		err = readDir(t, p)
	} else {
		err = readArchive(t, p)
	}
	if err != nil {
		return nil, err
	}
	t.finish()
	r := &Report{tree: t, plugins: map[string]bool{}}
	if !r.isSos() {
		return nil, fmt.Errorf("%s: %w: no sos_commands/, sos_reports/ or sos version.txt", p, ErrNotSosreport)
	}
	r.layout()
	return r, nil
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

// readDir reads the wanted files of an extracted report. Symlinks are kept as
// links of the tree (resolved inside it); nothing outside dir is read.
func readDir(t *tree, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	kept := 0
	return fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || rel == "." {
			return nil // an unreadable part is unknown, as if not collected
		}
		if d.IsDir() {
			if !wantedDir(rel) {
				return fs.SkipDir
			}
			t.addDir(rel)
			return nil
		}
		if !isWanted(rel) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := root.Readlink(rel)
			if err == nil {
				t.add(rel, &node{mode: fs.ModeSymlink | 0o777, target: target})
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		n := &node{mode: fi.Mode(), size: fi.Size()}
		if fi.Size() > MaxFile || kept+int(fi.Size()) > MaxKept {
			n.tooBig = true
		} else if n.data, err = root.ReadFile(rel); err != nil {
			return nil
		}
		kept += len(n.data)
		t.add(rel, n)
		return nil
	})
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

// The budget of an archive: what it may expand to (at most MaxRatio times its
// size plus 64 MiB, and at most MaxExpanded), and how long reading it may take.
// A sosreport of a few hundred MiB compresses about ten to one.
const (
	MaxExpanded = 4 << 30
	MaxRatio    = 200
	MaxReadTime = time.Minute
)

// budget counts what a decompressor gives and stops it past the budget.
type budget struct {
	r        io.Reader
	total    int64 // the budget
	left     int64
	deadline time.Time
	file     string
}

type budgetError struct{ msg string }

func (e *budgetError) Error() string { return e.msg }

func (b *budget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &budgetError{fmt.Sprintf("%s: expands to more than its budget (%d MiB for an archive of this size): a decompression bomb, not a sosreport nestvirt reads", b.file, b.total>>20)}
	}
	if time.Now().After(b.deadline) {
		return 0, &budgetError{fmt.Sprintf("%s: reading it took longer than %s: not a sosreport nestvirt reads", b.file, MaxReadTime)}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// readArchive streams a report's archive, keeping the wanted members of its one
// top directory. A member that would leave it, or is not a plain file, directory
// or symlink, is ignored; a truncated archive is an error.
func readArchive(t *tree, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(6)
	var r io.Reader = br
	var tail *xzTail
	switch {
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		tail = &xzTail{r: br}
		if r, err = xz.NewReader(tail); err != nil {
			return fmt.Errorf("%s: xz: %w", file, err)
		}
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		if r, err = gzip.NewReader(br); err != nil {
			return fmt.Errorf("%s: gzip: %w", file, err)
		}
	case bytes.HasPrefix(magic, []byte("BZh")):
		r = bzip2.NewReader(br)
	}
	// A decompression bomb (a few KiB that expand to gigabytes) is stopped by
	// what it expands to and by time, whichever comes first.
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	limit := min(MaxExpanded, MaxRatio*size+64<<20)
	bud := &budget{r: r, total: limit, left: limit, deadline: time.Now().Add(MaxReadTime), file: file}
	r = bud
	tr := tar.NewReader(r)
	top, kept := "", 0
	for i := 0; ; i++ {
		if i > MaxFiles {
			return fmt.Errorf("%s: more than %d members; not a sosreport nestvirt reads", file, MaxFiles)
		}
		h, err := tr.Next()
		if err == io.EOF {
			if i == 0 {
				return fmt.Errorf("%s: %w: an empty archive", file, ErrNotSosreport)
			}
			// The compressed stream goes on past tar's end: read it to its own
			// end, where xz and gzip check their trailer and checksum.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return fmt.Errorf("%s: the archive is truncated or damaged after its last member: %w", file, err)
			}
			if tail != nil && !tail.ended() {
				return fmt.Errorf("%s: the archive is truncated: its xz stream has no index and footer (xz -t fails)", file)
			}
			return nil
		}
		var be *budgetError
		if errors.As(err, &be) {
			return be
		}
		if err != nil {
			if i == 0 {
				return fmt.Errorf("%s: %w: not a tar archive (.tar.xz, .tar.gz, .tar.bz2, .tar) or a directory: %w", file, ErrNotSosreport, err)
			}
			return fmt.Errorf("%s: the archive is truncated or damaged (after %d members): %w", file, i, err)
		}
		name := clean(h.Name)
		if name == "" || name == "." {
			continue // ../ members: never followed out of the report
		}
		first, rest, _ := strings.Cut(name, "/")
		if top == "" {
			top = first
			t.name = first
		}
		if first != top || rest == "" {
			continue // a report has one top directory
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if wantedDir(rest) {
				t.addDir(rest)
			}
		case tar.TypeSymlink:
			if isWanted(rest) {
				t.add(rest, &node{mode: fs.ModeSymlink | 0o777, target: h.Linkname})
			}
		case tar.TypeReg:
			if !isWanted(rest) {
				continue
			}
			n := &node{mode: fs.FileMode(h.Mode).Perm(), size: h.Size}
			if h.Size > MaxFile || kept+int(h.Size) > MaxKept {
				n.tooBig = true // its bytes are skipped by the next Next
			} else {
				if n.data, err = io.ReadAll(io.LimitReader(tr, MaxFile)); err != nil {
					if errors.As(err, &be) {
						return be
					}
					return fmt.Errorf("%s: the archive is truncated or damaged at %s: %w", file, h.Name, err)
				}
				kept += len(n.data)
			}
			t.add(rest, n)
		}
	}
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
	r.finish()
}

func (r *Report) synth(rel string, data []byte) {
	if _, err := r.Lstat(rel); err == nil {
		return // what sos copied wins
	}
	r.add(rel, &node{mode: 0o444, data: data, size: int64(len(data))})
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
			r.addDir("sys/module/" + m)
		}
	}
	return mods
}

var sysctlLine = regexp.MustCompile(`^kernel\.(arch|osrelease|hostname) = (.*)$`)

// kernelFiles writes proc/sys/kernel/{arch,osrelease,hostname} from sysctl -a,
// else uname -a, where sos did not copy them.
func (r *Report) kernelFiles() {
	if b, _, err := r.ReadFile("sos_commands/kernel/sysctl_-a", MaxFile); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if m := sysctlLine.FindStringSubmatch(l); m != nil {
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
	r.addDir("sys/class/dmi/id")
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
	return append([]string{"read from the sosreport " + r.name + ": what it did not collect is unknown"}, r.notes...)
}

// xzTail watches the compressed bytes of an xz archive for its end: the last
// stream's footer (CRC32 of what follows it, the backward size and flags, then
// "YZ"), before any stream padding. ulikunitz/xz takes a stream that ends where
// a block ends (index and footer cut off) for a whole one (its pull request
// 83 is open), so the footer is checked here.
type xzTail struct {
	r     io.Reader
	win   []byte // the last 12 bytes up to the last non-zero byte
	zeros int    // zero bytes after it (stream padding)
}

func (x *xzTail) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	b := p[:n]
	if last := lastNonZero(b); last < 0 {
		x.zeros += len(b)
	} else {
		w := append(x.win, make([]byte, min(x.zeros, 12))...)
		w = append(w, b[:last+1]...)
		x.win = append(x.win[:0:0], w[max(0, len(w)-12):]...)
		x.zeros = len(b) - last - 1
	}
	return n, err
}

func lastNonZero(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return i
		}
	}
	return -1
}

// ended says whether what was read ends with an xz stream footer (and
// padding in whole 4-byte units).
func (x *xzTail) ended() bool {
	w := x.win
	return len(w) == 12 && x.zeros%4 == 0 && w[10] == 'Y' && w[11] == 'Z' &&
		crc32.ChecksumIEEE(w[4:10]) == binary.LittleEndian.Uint32(w[0:4])
}

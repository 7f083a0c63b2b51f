package osid

import (
	"encoding/xml"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// OsinfoDirs are where osinfo-db's files are, in the order nestvirt searches
// them: the system location (osinfo-db's package) and the local one (an admin's
// newer database), each overridden by libosinfo's own environment variables,
// OSINFO_SYSTEM_DIR and OSINFO_LOCAL_DIR, as libosinfo's loader and
// osinfo-db-path(1) have them.
func OsinfoDirs() []string {
	dir := func(env, def string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		return def
	}
	return []string{dir("OSINFO_SYSTEM_DIR", "/usr/share/osinfo"), dir("OSINFO_LOCAL_DIR", "/etc/osinfo")}
}

// Limits on what is read of an osinfo-db: it holds about a thousand small files.
const (
	maxOsinfoFiles = 20000
	maxOsinfoFile  = 1 << 20
)

// osinfo is the system's osinfo-db as far as it has been read. A name nestvirt
// knows itself never reaches it; an unknown name reads only the files that can
// hold it. osinfo-db names each file after its OS ("rhel-9.0.xml" holds rhel9.0,
// "debian-11.xml" debianbullseye), so a file whose leading letters do not occur
// in the name cannot hold it. Only a name none of those files holds (a typo, or
// a layout this rule does not foresee) costs a read of the whole db, once.
var osinfo = &osinfoDB{}

// osinfoReads counts the osinfo-db files read, so tests can hold the commands
// that judge a known OS to reading none.
var osinfoReads atomic.Int64

// OsinfoFilesRead is how many osinfo-db files this process has read.
func OsinfoFilesRead() int64 { return osinfoReads.Load() }

type osinfoDB struct {
	mu     sync.Mutex
	dirs   []string       // the OsinfoDirs the listing below was made from
	listed bool           // files is filled
	files  []osinfoFile   // every file of the db, in search order
	all    bool           // every file has been read
	oses   map[string]OS  // by lowercased short id; first file in search order wins
	origin map[string]int // the index in files each of oses was read from
	reads  int            // files read since listed
}

type osinfoFile struct {
	dir, rel, stem string
	read           bool
}

// fromOsinfo looks a short id up in the system's osinfo-db when a name is none
// of the forms nestvirt knows itself.
func fromOsinfo(name string) (OS, bool) {
	return osinfo.lookup(OsinfoDirs(), strings.ToLower(name))
}

func (db *osinfoDB) lookup(dirs []string, name string) (OS, bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.list(dirs)
	if o, ok := db.oses[name]; ok {
		return o, true
	}
	key := alnum(name)
	for i := range db.files {
		f := &db.files[i]
		if !f.read && f.stem != "" && strings.Contains(key, f.stem) {
			db.read(i)
		}
	}
	if o, ok := db.oses[name]; ok {
		return o, true
	}
	db.readAll()
	o, ok := db.oses[name]
	return o, ok
}

// names returns a copy of every short id of the db, reading all of it.
func (db *osinfoDB) names(dirs []string) map[string]OS {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.list(dirs)
	db.readAll()
	out := make(map[string]OS, len(db.oses))
	for k, o := range db.oses {
		out[k] = o
	}
	return out
}

func (db *osinfoDB) list(dirs []string) {
	if db.listed && slices.Equal(db.dirs, dirs) {
		return
	}
	// Fields one by one: the mutex is held.
	db.dirs, db.listed, db.files, db.all, db.reads = append([]string(nil), dirs...), true, nil, false, 0
	db.oses, db.origin = map[string]OS{}, map[string]int{}
	for _, dir := range dirs {
		d, err := fsroot.Open(dir)
		if err != nil {
			continue
		}
		for _, p := range d.Glob("os/*/*.xml") {
			if len(db.files) >= maxOsinfoFiles {
				break
			}
			db.files = append(db.files, osinfoFile{dir: dir, rel: p, stem: stemOf(path.Base(p))})
		}
		d.Close()
	}
}

func (db *osinfoDB) readAll() {
	if db.all {
		return
	}
	for i := range db.files {
		if !db.files[i].read {
			db.read(i)
		}
	}
	db.all = true
}

// read adds the OSes of files[i]. A file that cannot be read is skipped: the db
// only adds names. Where two files hold a name, the one earlier in search order
// wins, as in libosinfo, whichever was read first.
func (db *osinfoDB) read(i int) {
	f := &db.files[i]
	f.read = true
	d, err := fsroot.Open(f.dir)
	if err != nil {
		return
	}
	defer d.Close()
	osinfoReads.Add(1)
	db.reads++
	data, _, err := d.ReadFile(f.rel, maxOsinfoFile)
	if err != nil {
		return
	}
	oses, err := ReadOsinfo(data)
	if err != nil {
		return
	}
	for _, o := range oses {
		key := strings.ToLower(o.ID) // names are read lowercased
		if prev, seen := db.origin[key]; !seen || i < prev {
			db.oses[key], db.origin[key] = o, i
		}
	}
}

// stemOf is a file name's leading letters: "rhel-9.0.xml" → "rhel".
func stemOf(base string) string {
	base = strings.ToLower(base)
	i := 0
	for i < len(base) && base[i] >= 'a' && base[i] <= 'z' {
		i++
	}
	return base[:i]
}

// alnum is s without its punctuation: "fedora-coreos-stable" → "fedoracoreosstable".
func alnum(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// LoadOsinfo reads every OS of the osinfo-db directories that exist, by short id.
func LoadOsinfo(dirs []string) map[string]OS {
	return (&osinfoDB{}).names(dirs)
}

// Listed is an OS name as `nestvirt os list` shows it.
type Listed struct {
	OS
	From string // nestvirt, or osinfo-db
}

// builtin are the names nestvirt lists as its own: the releases its policy and
// examples speak of. Its parser takes every version of each family, not only these.
var builtin = []string{
	"rhel8.10", "rhel9.0", "rhel9.2", "rhel9.4", "rhel9.6", "rhel10.0", "rhel10.1",
	"centos-stream9", "centos-stream10", "fedora41", "fedora42", "almalinux9.6", "rocky9.6", "ol9.6",
	"debian12", "debian13", "ubuntu22.04", "ubuntu24.04", "sles15sp6", "opensuse15.6",
	"win2k16", "win2k19", "win2k22", "win2k25", "win10", "win11",
	"freebsd14.0", "linux2022", "linux2024", "generic", "fedora-rawhide", "debiantesting",
}

// Known lists the names nestvirt knows: its own, and the system's osinfo-db.
func Known() []Listed {
	seen := map[string]bool{}
	var out []Listed
	for _, n := range builtin {
		if o, err := parseBuiltin(n); err == nil && !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, Listed{OS: o, From: "nestvirt"})
		}
	}
	db := osinfo.names(OsinfoDirs())
	ids := make([]string, 0, len(db))
	for id := range db {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, Listed{OS: db[id], From: "osinfo-db"})
		}
	}
	return out
}

type osinfoXML struct {
	OSes []struct {
		ID       string   `xml:"id,attr"`
		ShortIDs []string `xml:"short-id"`
		Family   string   `xml:"family"`
		Distro   string   `xml:"distro"`
		Version  string   `xml:"version"`
		Name     string   `xml:"name"`
	} `xml:"os"`
}

// ReadOsinfo reads one osinfo-db file: each OS under every short id it has.
func ReadOsinfo(data []byte) ([]OS, error) {
	var x osinfoXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("osinfo-db: %w", err)
	}
	var out []OS
	for _, o := range x.OSes {
		kind := Other
		switch o.Family {
		case "linux":
			kind = Linux
		case "winnt", "win9x", "msdos":
			kind = Windows
		}
		family := o.Distro
		switch {
		case o.Distro == "win" && strings.Contains(o.ID, "/win/2k"):
			family = winServer.name
		case o.Distro == "win":
			family = winDesktop.name
		case o.Distro == "centos" && strings.Contains(o.ID, "centos-stream"):
			family = "centos-stream"
		case o.Distro == "sled":
			family = "sles"
		case family == "":
			family = o.Family
		}
		version := o.Version
		if !verRe().MatchString(version) {
			version = "" // "testing", "Rawhide", "9-unknown": no release to compare
		}
		for _, id := range o.ShortIDs {
			out = append(out, OS{ID: id, Family: family, Kind: kind, Version: version, name: o.Name, from: "osinfo-db"})
		}
	}
	return out, nil
}

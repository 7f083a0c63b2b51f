package osid

import (
	"encoding/xml"
	"fmt"

	"sort"
	"strings"
	"sync"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// OsinfoDirs are where osinfo-db installs its files, as libosinfo searches them.
var OsinfoDirs = []string{"/usr/share/osinfo", "/usr/local/share/osinfo", "/etc/osinfo"}

// Limits on what is read of an osinfo-db: it holds about a thousand small files.
const (
	maxOsinfoFiles = 20000
	maxOsinfoFile  = 1 << 20
)

var (
	osinfoOnce sync.Once
	osinfoDB   map[string]OS
)

// fromOsinfo looks a short id up in the system's osinfo-db, read once, when a name
// is none of the forms nestvirt knows itself.
func fromOsinfo(name string) (OS, bool) {
	osinfoOnce.Do(func() { osinfoDB = LoadOsinfo(OsinfoDirs) })
	o, ok := osinfoDB[name]
	return o, ok
}

// LoadOsinfo reads every OS of the osinfo-db directories that exist, by short id.
// Files that cannot be read are skipped: the db only adds names.
func LoadOsinfo(dirs []string) map[string]OS {
	out := map[string]OS{}
	n := 0
	for _, dir := range dirs {
		d, err := fsroot.Open(dir)
		if err != nil {
			continue
		}
		for _, p := range d.Glob("os/*/*.xml") {
			if n++; n > maxOsinfoFiles {
				break
			}
			data, _, err := d.ReadFile(p, maxOsinfoFile)
			if err != nil {
				continue
			}
			oses, err := ReadOsinfo(data)
			if err != nil {
				continue
			}
			for _, o := range oses {
				key := strings.ToLower(o.ID) // names are read lowercased
				if _, seen := out[key]; !seen {
					out[key] = o
				}
			}
		}
		d.Close()
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
		if !verRe.MatchString(version) {
			version = "" // "testing", "Rawhide", "9-unknown": no release to compare
		}
		for _, id := range o.ShortIDs {
			out = append(out, OS{ID: id, Family: family, Kind: kind, Version: version, name: o.Name, from: "osinfo-db"})
		}
	}
	return out, nil
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
		if o, err := parse(n); err == nil && !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, Listed{OS: o, From: "nestvirt"})
		}
	}
	osinfoOnce.Do(func() { osinfoDB = LoadOsinfo(OsinfoDirs) })
	ids := make([]string, 0, len(osinfoDB))
	for id := range osinfoDB {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, Listed{OS: osinfoDB[id], From: "osinfo-db"})
		}
	}
	return out
}

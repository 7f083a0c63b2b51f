// Package osid names operating systems the way the policy compares them: a family
// ("rhel", "windows-server", "windows", "ubuntu", ...) and a dotted version.
//
// It reads the names users already know: libosinfo short ids as virt-install's
// --os-variant takes them (rhel10.0, win2k22, win11, ubuntu24.04), their long forms
// (rhel-10.0, windows-server-2022, windows-11), libosinfo URIs as virt-install records
// them in domain metadata (http://redhat.com/rhel/10.0), and os-release ID/VERSION_ID.
package osid

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nestvirt/nestvirt/internal/suggest"
)

// Kind is the broad class of an OS.
type Kind string

// The kinds the policy distinguishes.
const (
	Linux   Kind = "linux"
	Windows Kind = "windows"
	Other   Kind = "other" // BSDs, Solaris, Haiku, DOS, libosinfo's "generic"
)

// OS is one operating system release.
type OS struct {
	ID      string // canonical short id, e.g. "rhel10.0", "win2k22", "win11"
	Family  string // "rhel", "windows-server", "windows", "ubuntu", ...
	Kind    Kind
	Version string // dotted: "10.0", "2022", "11", "24.04"; "" when the name carries none

	name string // osinfo-db's own name, for families nestvirt does not know
	from string
}

// String is the name a person reads: "RHEL 10.0", "Windows Server 2022".
func (o OS) String() string {
	f := familyByName[o.Family]
	if f == nil {
		if o.name != "" {
			return o.name
		}
		return o.ID
	}
	if o.Version == "" && f.needsVer && o.ID != "" && o.ID != f.name {
		return f.pretty + " (" + o.ID + ")" // a rolling release: fedora-rawhide
	}
	if o.Version == "" {
		return f.pretty
	}
	v := o.Version
	if o.Family == "windows-server" && strings.HasSuffix(v, ".2") {
		v = strings.TrimSuffix(v, ".2") + " R2"
	}
	return f.pretty + " " + v
}

// AtLeast reports whether o's version is v or later. An OS without a version is
// never at least anything: the policy cannot assume a release it was not told.
func (o OS) AtLeast(v string) bool {
	return o.Version != "" && CompareVersions(o.Version, v) >= 0
}

// Below reports whether o's version is earlier than v.
func (o OS) Below(v string) bool {
	return o.Version != "" && CompareVersions(o.Version, v) < 0
}

// CompareVersions compares dotted numeric versions; missing parts count as 0, so
// "10" == "10.0". Non-numeric parts compare as strings.
func CompareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		x, y := "0", "0"
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xi, errx := strconv.Atoi(x)
		yi, erry := strconv.Atoi(y)
		switch {
		case errx == nil && erry == nil:
			if xi != yi {
				if xi < yi {
					return -1
				}
				return 1
			}
		case x != y:
			return strings.Compare(x, y)
		}
	}
	return 0
}

type family struct {
	name     string // family name, also the short-id prefix for Linux
	pretty   string
	kind     Kind
	uri      string // libosinfo URI prefix, version appended
	needsVer bool
}

// linuxFamilies lists the Linux distributions libosinfo names; longer prefixes first
// so "centos-stream9" is not read as "centos" "-stream9".
var linuxFamilies = []*family{
	{"centos-stream", "CentOS Stream", Linux, "http://centos.org/centos-stream/", true},
	{"centos", "CentOS", Linux, "http://centos.org/centos/", true},
	{"rhel", "RHEL", Linux, "http://redhat.com/rhel/", true},
	// The host OSes of two Red Hat offerings, which libosinfo does not name:
	// OpenShift Virtualization's nodes run RHEL CoreOS (rhcos4.18, the OpenShift
	// release), RHV's hosts RHV-H (rhvh4.4, the RHV release) or RHEL.
	{"rhcos", "RHEL CoreOS", Linux, "", true},
	{"rhvh", "RHV-H", Linux, "", true},
	{"fedora", "Fedora", Linux, "http://fedoraproject.org/fedora/", true},
	{"ubuntu", "Ubuntu", Linux, "http://ubuntu.com/ubuntu/", true},
	{"debian", "Debian", Linux, "http://debian.org/debian/", true},
	{"sles", "SLES", Linux, "http://suse.com/sles/", true},
	{"opensuse", "openSUSE", Linux, "http://opensuse.org/opensuse/", true},
	{"almalinux", "AlmaLinux", Linux, "http://almalinux.org/almalinux/", true},
	{"rocky", "Rocky Linux", Linux, "http://rockylinux.org/rocky/", true},
	{"ol", "Oracle Linux", Linux, "http://oracle.com/ol/", true},
	{"alpinelinux", "Alpine Linux", Linux, "http://alpinelinux.org/alpinelinux/", true},
	{"archlinux", "Arch Linux", Linux, "http://archlinux.org/archlinux/", false},
	{"silverblue", "Fedora Silverblue", Linux, "http://fedoraproject.org/silverblue/", true},
	{"mageia", "Mageia", Linux, "http://mageia.org/mageia/", true},
	{"nixos", "NixOS", Linux, "http://nixos.org/nixos/", true},
	// libosinfo's generic Linux of a year (linux2022): the kernel ABI of that time.
	{"linux", "Linux", Linux, "http://libosinfo.org/linux/", true},
	{"freebsd", "FreeBSD", Other, "http://freebsd.org/freebsd/", true},
	{"netbsd", "NetBSD", Other, "http://netbsd.org/netbsd/", true},
	{"openbsd", "OpenBSD", Other, "http://openbsd.org/openbsd/", true},
	{"dragonflybsd", "DragonFly BSD", Other, "http://dragonflybsd.org/dragonflybsd/", true},
}

// rolling names a release that has no version: the development branch.
var rolling = func() map[string]*family {
	m := map[string]*family{}
	for _, r := range []struct{ id, fam string }{
		{"fedora-rawhide", "fedora"}, {"debiantesting", "debian"}, {"debiansid", "debian"}, {"opensuse-factory", "opensuse"},
		{"opensusetumbleweed", "opensuse"}, {"centos-stream", "centos-stream"}, {"archlinux", "archlinux"},
	} {
		for _, f := range linuxFamilies {
			if f.name == r.fam {
				m[r.id] = f
			}
		}
	}
	return m
}()

// generic is libosinfo's "generic": an OS it knows nothing about.
var generic = &family{"generic", "a generic OS", Other, "http://libosinfo.org/generic", false}

var (
	winServer  = &family{"windows-server", "Windows Server", Windows, "http://microsoft.com/win/2k", true}
	winDesktop = &family{"windows", "Windows", Windows, "http://microsoft.com/win/", true}
)

var familyByName = func() map[string]*family {
	m := map[string]*family{winServer.name: winServer, winDesktop.name: winDesktop, generic.name: generic}
	for _, f := range linuxFamilies {
		m[f.name] = f
	}
	return m
}()

// Families returns the family names the package knows, sorted.
func Families() []string {
	out := make([]string, 0, len(familyByName))
	for n := range familyByName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// KindOf returns the kind of a family name, or "" when the family is unknown.
func KindOf(familyName string) Kind {
	if f := familyByName[familyName]; f != nil {
		return f.kind
	}
	return ""
}

// The regular expressions of nestvirt's packages are compiled on first use, not
// at start-up, which every command pays (TestInitStaysWithinBudget).
var (
	verRe        = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`) })
	slesSPRe     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]+)sp([0-9]+)$`) })
	winServerRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^win2k([0-9]{1,2})(r2)?$`) })
	winServerLRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^windows-server-([0-9]{4})(-r2)?$`) })
	winDeskRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^win([0-9]+(\.[0-9])?)$`) })
	winDeskLRe   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^windows-([0-9]+(\.[0-9])?)$`) })
)

// cache holds the names parseBuiltin already read: a fleet's files name the
// same few OSes thousands of times, and the built-in forms are a pure function
// of the name (osinfo-db's names are held by its reader, which knows where they
// came from). It is bounded so hostile input cannot grow it.
var (
	cache     sync.Map // string -> OS
	cacheSize atomic.Int32
)

const maxCache = 4096

// Parse reads an OS name in any of the forms the package doc lists.
func Parse(s string) (OS, error) {
	if len(s) > MaxName {
		// No OS name is this long: refused before any lookup or suggestion.
		return OS{}, fmt.Errorf("unknown OS %s: longer than %d bytes, which no OS name is", suggest.Quote(s), MaxName)
	}
	if o, ok := cache.Load(s); ok {
		return o.(OS), nil
	}
	o, err := parseBuiltin(s)
	if err == nil {
		if cacheSize.Load() < maxCache {
			if _, loaded := cache.LoadOrStore(s, o); !loaded {
				cacheSize.Add(1)
			}
		}
		return o, nil
	}
	name := strings.ToLower(strings.TrimSpace(s))
	if o, ok := fromOsinfo(name); ok {
		return o, nil // a name osinfo-db knows: win95, dragonflybsd1.0A
	}
	if !errors.Is(err, errNotBuiltin) {
		// A form nestvirt knows with a value that is not one: "there is no
		// Windows 9", an unknown libosinfo URI.
		return OS{}, fmt.Errorf("unknown OS %s: %w", suggest.Quote(s), err)
	}
	return OS{}, fmt.Errorf("unknown OS %s%s", suggest.Quote(s), hint(name))
}

// ParseBuiltin reads only the forms nestvirt knows itself: it never reads
// osinfo-db, so what judges a machine pays nothing for the database.
func ParseBuiltin(s string) (OS, error) {
	if len(s) > MaxName {
		return OS{}, errNotBuiltin
	}
	return parseBuiltin(s)
}

// parseBuiltin reads the forms nestvirt knows without any osinfo-db.
func parseBuiltin(s string) (OS, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://") {
		return FromLibosinfo(name)
	}
	if m := winServerRe().FindStringSubmatch(name); m != nil {
		return windowsServer(yearOf(m[1]), m[2] != "")
	}
	if m := winServerLRe().FindStringSubmatch(name); m != nil {
		y, _ := strconv.Atoi(m[1])
		return windowsServer(y, m[2] != "")
	}
	if m := winDeskRe().FindStringSubmatch(name); m != nil {
		return windowsDesktop(m[1])
	}
	if m := winDeskLRe().FindStringSubmatch(name); m != nil {
		return windowsDesktop(m[1])
	}
	if name == generic.name {
		return OS{ID: generic.name, Family: generic.name, Kind: Other}, nil
	}
	if f, ok := rolling[name]; ok {
		return OS{ID: name, Family: f.name, Kind: f.kind}, nil
	}
	for _, f := range linuxFamilies {
		if !strings.HasPrefix(name, f.name) {
			continue
		}
		rest := strings.TrimPrefix(strings.TrimPrefix(name, f.name), "-")
		if o, ok := linux(f, rest); ok {
			return o, nil
		}
	}
	return OS{}, errNotBuiltin
}

// errNotBuiltin is what parseBuiltin says of a name only the osinfo-db may know.
var errNotBuiltin = errors.New("not a form nestvirt knows itself")

// linux builds a Linux OS from the version part of its name. libosinfo's
// "rhel9-unknown" means "some RHEL 9": the major version is kept.
func linux(f *family, rest string) (OS, bool) {
	rest = strings.TrimSuffix(rest, "-unknown")
	if f.name == "sles" {
		if m := slesSPRe().FindStringSubmatch(rest); m != nil {
			rest = m[1] + "." + m[2]
		}
	}
	switch {
	case rest == "" && !f.needsVer:
		return OS{ID: f.name, Family: f.name, Kind: f.kind}, true
	case verRe().MatchString(rest):
		return OS{ID: f.name + rest, Family: f.name, Kind: f.kind, Version: rest}, true
	}
	return OS{}, false
}

func yearOf(two string) int {
	y, _ := strconv.Atoi(two)
	return 2000 + y
}

func windowsServer(year int, r2 bool) (OS, error) {
	if year < 2003 || year > 2040 {
		return OS{}, fmt.Errorf("there is no Windows Server %d", year)
	}
	id := fmt.Sprintf("win2k%02d", year%100)
	v := strconv.Itoa(year)
	if r2 {
		id += "r2"
		v += ".2"
	}
	return OS{ID: id, Family: winServer.name, Kind: Windows, Version: v}, nil
}

func windowsDesktop(v string) (OS, error) {
	switch v {
	case "7", "8", "8.1", "10", "11":
		return OS{ID: "win" + v, Family: winDesktop.name, Kind: Windows, Version: v}, nil
	}
	return OS{}, fmt.Errorf("there is no Windows %s (desktop releases: 7, 8, 8.1, 10, 11)", v)
}

// FromLibosinfo reads a libosinfo OS URI, as virt-install writes it into
// <libosinfo:os id="..."/>.
func FromLibosinfo(uri string) (OS, error) {
	u := strings.ToLower(strings.TrimSpace(uri))
	u = strings.Replace(u, "https://", "http://", 1)
	if strings.HasPrefix(u, "http://microsoft.com/win/") {
		rest := strings.TrimPrefix(u, "http://microsoft.com/win/")
		if strings.HasPrefix(rest, "2k") {
			return Parse("win" + rest)
		}
		return windowsDesktop(rest)
	}
	for _, f := range linuxFamilies {
		if strings.HasPrefix(u, f.uri) {
			if o, ok := linux(f, strings.TrimPrefix(u, f.uri)); ok {
				return o, nil
			}
		}
	}
	return OS{}, fmt.Errorf("unknown libosinfo OS %q", uri)
}

// URI returns the libosinfo URI of o, or "" when there is none.
func (o OS) URI() string {
	switch o.Family {
	case winServer.name:
		return "http://microsoft.com/win/" + strings.TrimPrefix(o.ID, "win")
	case winDesktop.name:
		return "http://microsoft.com/win/" + o.Version
	}
	if f := familyByName[o.Family]; f != nil && f.uri != "" {
		return f.uri + o.Version
	}
	return ""
}

// osReleaseIDs maps os-release ID values to families where they differ.
var osReleaseIDs = map[string]string{"opensuse-leap": "opensuse", "sled": "sles", "alpine": "alpinelinux", "arch": "archlinux"}

// FromOSRelease reads os-release's ID and VERSION_ID. ok is false for a
// distribution the package does not know; the caller keeps the raw strings.
func FromOSRelease(id, versionID string) (OS, bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	if alias, ok := osReleaseIDs[id]; ok {
		id = alias
	}
	f := familyByName[id]
	if f == nil || f.kind != Linux {
		return OS{}, false
	}
	return linux(f, strings.TrimSpace(versionID))
}

// Examples lists accepted names, for error messages and help.
var Examples = []string{"rhel10.0", "rhel-9.6", "win2k22", "windows-server-2019", "win11", "windows-10", "ubuntu24.04", "fedora41"}

// MaxName bounds an OS name: the longest libosinfo short id is under 40 bytes.
const MaxName = 64

func hint(name string) string {
	if near := nearestKnown(name); near != "" {
		return fmt.Sprintf("; did you mean %q? (nestvirt os list shows every name)", near)
	}
	for _, f := range linuxFamilies {
		if strings.HasPrefix(name, f.name) {
			return fmt.Sprintf(" (a %s name needs a version, as in %s%s)", f.pretty, f.name, exampleVersion(f.name))
		}
	}
	if strings.HasPrefix(name, "win") {
		return " (Windows names: win2k16, win2k19, win2k22, win2k25, win10, win11, windows-server-2022, windows-11)"
	}
	return " (known forms: " + strings.Join(Examples, ", ") + "; nestvirt os list shows every name)"
}

// nearestKnown is the known name closest to name, within a small edit distance
// (package suggest bounds the work whatever name is).
func nearestKnown(name string) string {
	cands := append([]string(nil), builtin...)
	for n := range osinfo.names(OsinfoDirs()) { // read whole already: name was not in it
		cands = append(cands, n)
	}
	return suggest.Nearest(name, cands)
}

func exampleVersion(f string) string {
	switch f {
	case "ubuntu":
		return "24.04"
	case "fedora":
		return "41"
	case "debian":
		return "12"
	case "centos-stream":
		return "9"
	}
	return "10.0"
}

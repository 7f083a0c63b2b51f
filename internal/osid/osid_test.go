package osid

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseReadsEveryFormUsersWrite(t *testing.T) {
	tests := []struct {
		in                  string
		id, family, version string
		kind                Kind
		pretty              string
	}{
		{"rhel10.0", "rhel10.0", "rhel", "10.0", Linux, "RHEL 10.0"},
		{"rhel-9.6", "rhel9.6", "rhel", "9.6", Linux, "RHEL 9.6"},
		{"RHEL9.2", "rhel9.2", "rhel", "9.2", Linux, "RHEL 9.2"},
		{"rhel9-unknown", "rhel9", "rhel", "9", Linux, "RHEL 9"},
		{"win2k16", "win2k16", "windows-server", "2016", Windows, "Windows Server 2016"},
		{"win2k19", "win2k19", "windows-server", "2019", Windows, "Windows Server 2019"},
		{"windows-server-2022", "win2k22", "windows-server", "2022", Windows, "Windows Server 2022"},
		{"win2k25", "win2k25", "windows-server", "2025", Windows, "Windows Server 2025"},
		{"win2k12r2", "win2k12r2", "windows-server", "2012.2", Windows, "Windows Server 2012 R2"},
		{"windows-server-2012-r2", "win2k12r2", "windows-server", "2012.2", Windows, "Windows Server 2012 R2"},
		{"win10", "win10", "windows", "10", Windows, "Windows 10"},
		{"windows-11", "win11", "windows", "11", Windows, "Windows 11"},
		{"win8.1", "win8.1", "windows", "8.1", Windows, "Windows 8.1"},
		{"ubuntu24.04", "ubuntu24.04", "ubuntu", "24.04", Linux, "Ubuntu 24.04"},
		{"ubuntu-22.04", "ubuntu22.04", "ubuntu", "22.04", Linux, "Ubuntu 22.04"},
		{"fedora41", "fedora41", "fedora", "41", Linux, "Fedora 41"},
		{"centos-stream9", "centos-stream9", "centos-stream", "9", Linux, "CentOS Stream 9"},
		{"centos7.0", "centos7.0", "centos", "7.0", Linux, "CentOS 7.0"},
		{"sles15sp5", "sles15.5", "sles", "15.5", Linux, "SLES 15.5"},
		{"debian12", "debian12", "debian", "12", Linux, "Debian 12"},
		{"archlinux", "archlinux", "archlinux", "", Linux, "Arch Linux"},
		{"http://redhat.com/rhel/10.0", "rhel10.0", "rhel", "10.0", Linux, "RHEL 10.0"},
		{"http://microsoft.com/win/2k22", "win2k22", "windows-server", "2022", Windows, "Windows Server 2022"},
		{"http://microsoft.com/win/11", "win11", "windows", "11", Windows, "Windows 11"},
		{"http://ubuntu.com/ubuntu/24.04", "ubuntu24.04", "ubuntu", "24.04", Linux, "Ubuntu 24.04"},
		{"http://fedoraproject.org/fedora/41", "fedora41", "fedora", "41", Linux, "Fedora 41"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if o.ID != tt.id || o.Family != tt.family || o.Version != tt.version || o.Kind != tt.kind || o.String() != tt.pretty {
				t.Errorf("got %+v %q", o, o.String())
			}
		})
	}
}

func TestParseRejectsWhatIsNotAnOS(t *testing.T) {
	for _, in := range []string{"", "10", "rhel", "rhelX", "win2k91", "win12", "windows-server-1999", "ubuntu", "solaris99", "windowsxp2", "http://example.com/os/1", "rhel10.0; rm -rf /"} {
		if o, err := Parse(in); err == nil {
			t.Errorf("%q parsed as %+v", in, o)
		} else if !strings.HasPrefix(err.Error(), "unknown OS") {
			t.Errorf("%q: error %q does not start with 'unknown OS'", in, err)
		}
	}
}

func TestURIRoundTrips(t *testing.T) {
	for _, in := range []string{"rhel10.0", "rhel9.6", "win2k22", "win2k16", "win11", "win10", "ubuntu24.04", "fedora41", "centos-stream9", "debian12"} {
		o, _ := Parse(in)
		back, err := FromLibosinfo(o.URI())
		if err != nil || back != o {
			t.Errorf("%s -> %s -> %+v, %v", in, o.URI(), back, err)
		}
	}
}

func TestVersionsCompareNumerically(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"9.6", "9.5", 1}, {"9.10", "9.6", 1}, {"10", "10.0", 0}, {"10.0", "9.6", 1}, {"2019", "2022", -1}, {"24.04", "24.10", -1},
	}
	for _, tt := range tests {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	rhel := OS{Family: "rhel", Version: "9.6"}
	if !rhel.AtLeast("9.6") || rhel.AtLeast("9.7") || !rhel.Below("10") {
		t.Error("AtLeast/Below at the 9.6 boundary")
	}
	if (OS{Family: "archlinux"}).AtLeast("1") {
		t.Error("an OS without a version is at least something")
	}
}

func TestFromOSRelease(t *testing.T) {
	tests := []struct{ id, ver, want string }{
		{"rhel", "10.0", "rhel10.0"}, {"rhel", "9.6", "rhel9.6"}, {"ubuntu", "24.04", "ubuntu24.04"},
		{"debian", "12", "debian12"}, {"fedora", "41", "fedora41"}, {"opensuse-leap", "15.6", "opensuse15.6"},
	}
	for _, tt := range tests {
		o, ok := FromOSRelease(tt.id, tt.ver)
		if !ok || o.ID != tt.want {
			t.Errorf("%s %s -> %+v %v", tt.id, tt.ver, o, ok)
		}
	}
	if _, ok := FromOSRelease("plan9", "4"); ok {
		t.Error("unknown distribution accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range append(Examples, "win2k12r2", "http://microsoft.com/win/2k22", "sles15sp5", "rhel9-unknown") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(o.ID)
		if err != nil || again != o {
			t.Fatalf("%q -> %+v, but its id %q -> %+v, %v", s, o, o.ID, again, err)
		}
	})
}

// TestLibosinfoNamesNestvirtKnowsItself: forms of libosinfo short ids that must
// parse on a machine without any osinfo-db.
func TestLibosinfoNamesNestvirtKnowsItself(t *testing.T) {
	tests := []struct {
		in, family, version string
		kind                Kind
	}{
		{"generic", "generic", "", Other},
		{"linux2022", "linux", "2022", Linux},
		{"freebsd14.0", "freebsd", "14.0", Other},
		{"fedora-rawhide", "fedora", "", Linux},
		{"debiantesting", "debian", "", Linux},
		{"opensuse-factory", "opensuse", "", Linux},
		{"silverblue40", "silverblue", "40", Linux},
		{"rhel9-unknown", "rhel", "9", Linux},
	}
	for _, tt := range tests {
		o, err := parseBuiltin(tt.in)
		if err != nil || o.Family != tt.family || o.Version != tt.version || o.Kind != tt.kind {
			t.Errorf("%s: %+v, %v", tt.in, o, err)
		}
	}
}

func TestAnUnknownNameSuggestsTheNearest(t *testing.T) {
	_, err := Parse("rhel10.O")
	if err == nil || !strings.Contains(err.Error(), `did you mean "rhel10.0"?`) {
		t.Errorf("err = %s", err)
	}
}

func TestReadOsinfoReadsAnOsinfoDBFile(t *testing.T) {
	oses, err := ReadOsinfo([]byte(`<libosinfo version="0.0.1"><os id="http://fedoraproject.org/fedora/rawhide"><short-id>fedora-rawhide</short-id><short-id>fedora-unknown</short-id><name>Fedora Rawhide</name><version>Rawhide</version><vendor>Fedora Project</vendor><family>linux</family><distro>fedora</distro></os></libosinfo>`))
	if err != nil || len(oses) != 2 || oses[0].ID != "fedora-rawhide" || oses[0].Family != "fedora" || oses[0].Version != "" || oses[0].Kind != Linux || oses[1].ID != "fedora-unknown" {
		t.Fatalf("%+v %v", oses, err)
	}
	if _, err := ReadOsinfo([]byte("<libosinfo><os>")); err == nil {
		t.Error("a broken file was read")
	}
}

// FuzzReadOsinfo: an osinfo-db file nestvirt did not write never panics the
// reader, and every name it yields parses back to itself.
func FuzzReadOsinfo(f *testing.F) {
	f.Add([]byte(`<libosinfo version="0.0.1"><os id="http://redhat.com/rhel/10.0"><short-id>rhel10.0</short-id><name>Red Hat Enterprise Linux 10.0</name><version>10.0</version><vendor>Red Hat, Inc</vendor><family>linux</family><distro>rhel</distro></os></libosinfo>`))
	f.Add([]byte(`<libosinfo><os><short-id>win11</short-id><family>winnt</family></os></libosinfo>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		oses, err := ReadOsinfo(data)
		if err != nil {
			return
		}
		for _, o := range oses {
			if o.ID == "" {
				t.Fatalf("an OS without an id: %+v", o)
			}
		}
	})
}

// writeOsinfo lays files out as osinfo-db does: os/<vendor>/<name>.xml.
func writeOsinfo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, shortIDs := range files {
		p := filepath.Join(dir, "os", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		x := `<libosinfo version="0.0.1"><os id="http://` + rel + `">`
		for _, id := range strings.Fields(shortIDs) {
			x += `<short-id>` + id + `</short-id>`
		}
		x += `<name>` + rel + `</name><family>linux</family><distro>x</distro></os></libosinfo>`
		if err := os.WriteFile(p, []byte(x), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestOsinfoIsReadOnlyWhereANameCanBe: a name is looked for in the files whose
// leading letters it holds (debian-11.xml holds debianbullseye, coreos-stable.xml
// fedora-coreos-stable); only a name no such file holds reads the whole db, and
// the first directory in libosinfo's search order wins.
func TestOsinfoIsReadOnlyWhereANameCanBe(t *testing.T) {
	first := writeOsinfo(t, map[string]string{
		"debian.org/debian-11.xml":               "debian11 debianbullseye",
		"debian.org/debian-12.xml":               "debian12 debianbookworm",
		"fedoraproject.org/coreos-stable.xml":    "fedora-coreos-stable",
		"fedoraproject.org/fedora-40.xml":        "fedora40",
		"dragonflybsd.org/dragonflybsd-1.0A.xml": "dragonflybsd1.0a",
		"haiku-os.org/haiku-r1beta4.xml":         "haikur1beta4",
		"example.org/7.xml":                      "seven",
	})
	second := writeOsinfo(t, map[string]string{"local.org/debian-11.xml": "debianbullseye"})
	tests := []struct {
		name  string
		found bool
		reads int
	}{
		{"debianbullseye", true, 2},       // debian-11, debian-12
		{"fedora-coreos-stable", true, 2}, // coreos-stable, fedora-40
		{"haikur1beta4", true, 1},
		{"seven", true, 7},          // a file named by no letters: only the whole db has it
		{"debianbulleye", false, 7}, // a typo reads the whole db, for the suggestion too
	}
	for _, tt := range tests {
		db := &osinfoDB{}
		o, ok := db.lookup([]string{first}, tt.name)
		if ok != tt.found || db.reads != tt.reads {
			t.Errorf("%s: found %v after %d files, want %v after %d", tt.name, ok, db.reads, tt.found, tt.reads)
		}
		if ok && o.ID != tt.name {
			t.Errorf("%s: read as %s", tt.name, o.ID)
		}
	}
	db := &osinfoDB{}
	db.lookup([]string{first, second}, "fedora40") // reads nothing of debian's
	if o, ok := db.lookup([]string{first, second}, "debianbullseye"); !ok || o.name != "debian.org/debian-11.xml" {
		t.Errorf("the first directory's debianbullseye must win: %+v", o)
	}
	db = &osinfoDB{}
	if o, ok := db.lookup([]string{second, first}, "debianbullseye"); !ok || o.name != "local.org/debian-11.xml" {
		t.Errorf("the first directory's debianbullseye must win: %+v", o)
	}
	if n := len(LoadOsinfo([]string{first, second})); n != 9 {
		t.Errorf("LoadOsinfo: %d names, want 9", n)
	}
}

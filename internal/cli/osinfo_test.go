package cli

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// fakeOsinfo points osid, through libosinfo's own environment variables, at an
// osinfo-db tree laid out as osinfo-db's own is,
// holding every family the snapshots' os-release files name, so a command that
// consults it for one of them would read it.
func fakeOsinfo(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []struct{ vendor, file, short, distro, family string }{
		{"redhat.com", "rhel-9.6", "rhel9.6", "rhel", "linux"},
		{"redhat.com", "rhel-10.0", "rhel10.0", "rhel", "linux"},
		{"debian.org", "debian-12", "debian12", "debian", "linux"},
		{"microsoft.com", "win-11", "win11", "win", "winnt"},
		{"microsoft.com", "win-2k19", "win2k19", "win", "winnt"},
		{"dragonflybsd.org", "dragonflybsd-1.0A", "dragonflybsd1.0a", "dragonfly", "bsd"},
	} {
		p := filepath.Join(dir, "os", f.vendor, f.file+".xml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		x := `<libosinfo version="0.0.1"><os id="http://` + f.vendor + `/` + f.file + `"><short-id>` + f.short + `</short-id><name>` + f.file + `</name><family>` + f.family + `</family><distro>` + f.distro + `</distro></os></libosinfo>`
		if err := os.WriteFile(p, []byte(x), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("OSINFO_SYSTEM_DIR", dir)
	t.Setenv("OSINFO_LOCAL_DIR", t.TempDir())
}

// TestJudgingAKnownOSReadsNoOsinfoDB: check, vms and the guard hook judge a
// machine whose OS nestvirt knows without reading one osinfo-db file (the guard
// pays for what it reads on every VM start); a name only osinfo-db knows is
// still found there.
func TestJudgingAKnownOSReadsNoOsinfoDB(t *testing.T) {
	fakeOsinfo(t)
	entries, err := os.ReadDir(snapshots)
	if err != nil {
		t.Fatal(err)
	}
	const start = "<domain type='kvm'><name>g</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>"
	type runner func(t *testing.T, stdin string, args ...string) (string, string, int)
	// reads runs a command, which must end as one of codes, and counts the
	// osinfo-db files it read.
	reads := func(run runner, codes []int, args ...string) int64 {
		t.Helper()
		before := osid.OsinfoFilesRead()
		out, stderr, code := run(t, start, args...)
		if !slices.Contains(codes, code) {
			t.Errorf("%v: exit %d, want one of %v\n%.500s%s", args, code, codes, out, stderr)
		}
		return osid.OsinfoFilesRead() - before
	}
	judged := []int{ExitOK}
	decided := []int{ExitOK, ExitFindings} // the guard allows or refuses
	for _, e := range entries {
		root := snapshots + e.Name() + "/root"
		if n := reads(nv, judged, "check", "--format", "json", "--fail-on", "never", "--root", root); n != 0 {
			t.Errorf("check of %s read %d osinfo-db files", e.Name(), n)
		}
		if n := reads(nv, decided, "guard", "hook", "--root", root, "--", "g", "prepare", "begin", "-"); n != 0 {
			t.Errorf("guard hook on %s read %d osinfo-db files", e.Name(), n)
		}
	}
	// vms of the recorded daemon (the real one's answers), not of whatever
	// daemon this machine runs.
	f := recordedDaemon(t, true)
	d := dialing(func(libvirt.Options) (daemon, error) { return f, nil })
	if n := reads(d.nv, judged, "vms", "--format", "json", "--fail-on", "never", "--root", snapshots+"intel-l0-ready/root"); n != 0 {
		t.Errorf("vms read %d osinfo-db files", n)
	}
	if n := reads(nv, judged, "check", "--format", "json", "--fail-on", "never", "--root", snapshots+"rhel96-l1-on-kvm/root"); n != 0 {
		t.Errorf("check of a RHEL guest read %d osinfo-db files", n)
	}
	// A name only osinfo-db knows reads only the file that can hold it.
	before := osid.OsinfoFilesRead()
	out, stderr, code := d.nv(t, "host: {os: rhel10.0, guests: [{name: a, os: dragonflybsd1.0a}]}", "plan", "-", "--format", "json")
	if code != ExitOK {
		t.Fatalf("a name osinfo-db knows: exit %d %s\n%s", code, stderr, out)
	}
	if n := osid.OsinfoFilesRead() - before; n != 1 {
		t.Errorf("finding dragonflybsd1.0a read %d osinfo-db files, want its own one", n)
	}
}

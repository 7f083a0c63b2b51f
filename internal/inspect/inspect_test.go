package inspect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
)

const snapshots = "../probe/testdata/snapshots/"

var now = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)

func TestASourceIsOneMachine(t *testing.T) {
	snap := snapshots + "pvm/root"
	for _, tt := range []struct {
		name string
		src  Source
		vms  bool
		want string // "" for none
	}{
		{"this machine", Source{Root: "/"}, true, ""},
		{"nothing given is this machine", Source{}, true, ""},
		{"a snapshot", Source{Root: snap}, false, ""},
		{"a sosreport with its VMs", Source{Root: "/", Sos: "r.tar.xz"}, true, ""},
		{"a node's root with its VMs", Source{Root: "/", HostRoot: "/host"}, true, ""},
		{"a snapshot and a report", Source{Root: snap, Sos: "r.tar.xz"}, false, "give one of them"},
		{"a node's root and a report", Source{Root: "/", HostRoot: "/host", Sos: "r"}, false, "give one of them"},
		{"a snapshot with this machine's VMs", Source{Root: snap}, true, "'nestvirt vms --root " + snap + "'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.src.Check(tt.vms)
			if (tt.want == "") != (err == nil) || err != nil && (!strings.Contains(err.Error(), tt.want) || !errors.As(err, new(fault.Input))) {
				t.Errorf("Check(%v) = %v, want %q", tt.vms, err, tt.want)
			}
		})
	}
}

// Read says where and when the machine was read: a snapshot at the time its
// manifest records, a report at its collection time, this machine now.
func TestReadSaysWhereAndWhen(t *testing.T) {
	report := "../recorded/testdata/sosreport-pvm-host.tar.xz"
	for _, tt := range []struct {
		name     string
		src      Source
		kind     doc.OriginKind
		path     string
		report   bool
		recorded bool
	}{
		{"a snapshot", Source{Root: snapshots + "amd-on-bhyve/root"}, doc.OriginSnapshot, snapshots + "amd-on-bhyve/root", false, false},
		{"a sosreport", Source{Root: "/", Sos: report}, doc.OriginSosreport, report, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(tt.src, Statements{}, now)
			if err != nil {
				t.Fatal(err)
			}
			if m.Origin.Kind != tt.kind || m.Origin.Path == nil || *m.Origin.Path != tt.path {
				t.Errorf("origin %+v", m.Origin)
			}
			// Its own time, which is not now.
			if m.At == nil || *m.At == now.Format(time.RFC3339) {
				t.Errorf("read at %v", m.At)
			}
			if (m.Report != nil) != tt.report || (m.Recorded != nil) != tt.recorded {
				t.Errorf("report %v, recorded %v", m.Report != nil, m.Recorded != nil)
			}
			if m.Facts.Arch == nil {
				t.Errorf("no facts: %+v", m.Facts)
			}
		})
	}
	// Before a reading: this machine and a node's root are read now, a
	// snapshot or a report at a time only they know.
	for src, at := range map[Source]bool{{}: true, {HostRoot: "/host"}: true, {Root: "s"}: false, {Sos: "r"}: false} {
		if m := Named(src, now); (m.At != nil) != at || at && *m.At != "2026-12-07T06:00:00Z" {
			t.Errorf("Named(%+v).At = %v", src, m.At)
		}
	}
}

func TestASourceThatCannotBeReadIsNamed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	for src, want := range map[Source]string{
		{Root: missing}:     "--root " + missing + ": ",
		{Sos: missing}:      "--sos " + missing + ": ",
		{HostRoot: missing}: "--host-root " + missing + ": ",
	} {
		_, err := Read(src, Statements{}, now)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Read(%+v) = %v, want %q…", src, err, want)
		}
		if !errors.As(err, new(fault.Input)) {
			t.Errorf("Read(%+v): %v is not marked as bad input", src, err)
		}
	}
}

// withHostYAML is a copy of a snapshot with /etc/nestvirt/host.yaml holding data.
func withHostYAML(t *testing.T, snapshot, data string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(dir, os.DirFS(snapshots+snapshot+"/root")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc/nestvirt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, stated.HostConfig), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The command line's statements go over host.yaml's; a host.yaml that cannot
// be used costs only what it states: the machine is still read, the
// statements still applied, and the error says what was wrong.
func TestStatementsGoOverHostYAML(t *testing.T) {
	good := withHostYAML(t, "rhel96-l1-on-kvm", "migration: true\nl0:\n  os: rhel9.6\n")
	m, err := Read(Source{Root: good}, Statements{Migrates: "no"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Facts.Stated; s.Migration == nil || *s.Migration || s.L0OS == nil || *s.L0OS != "rhel9.6" {
		t.Errorf("stated: %+v", s)
	} else if got := strings.Join(s.From, "; "); !strings.Contains(got, "--migrates no") {
		t.Errorf("from: %s", got)
	}

	broken := withHostYAML(t, "rhel96-l1-on-kvm", "migration: maybe\n")
	m, err = Read(Source{Root: broken}, Statements{L0OS: "rhel10.0"}, now)
	var se *stated.Error
	if !errors.As(err, &se) {
		t.Fatalf("a broken host.yaml: %v", err)
	}
	if m.Facts.Arch == nil || m.Facts.Stated.L0OS == nil || *m.Facts.Stated.L0OS != "rhel10.0" {
		t.Errorf("read without it: arch %v, stated %+v", m.Facts.Arch, m.Facts.Stated)
	}
	f, note, err := RemedyFacts(broken)
	if err != nil || f.Arch == nil || !strings.Contains(note, "what it states is unknown here") {
		t.Errorf("RemedyFacts: %v, %q", err, note)
	}
	if _, err := Read(Source{Root: good}, Statements{L0OS: "no such os"}, now); err == nil || !strings.HasPrefix(err.Error(), "--l0-os: ") {
		t.Errorf("an unknown --l0-os: %v", err)
	}
	if _, err := Read(Source{Root: good}, Statements{Migrates: "maybe"}, now); err == nil || !strings.Contains(err.Error(), "--migrates") {
		t.Errorf("--migrates maybe: %v", err)
	}
}

// Another daemon's host: what is stated for it is its own host.yaml given here
// and the flags over it, never this machine's.
func TestRemoteStatedIsTheOtherHosts(t *testing.T) {
	s, err := RemoteStated("", Statements{})
	if err != nil || s.Migration != nil || s.L0OS != nil || s.From == nil {
		t.Errorf("nothing given: %+v %v", s, err)
	}
	file := filepath.Join(t.TempDir(), "other.yaml")
	os.WriteFile(file, []byte("migration: false\n"), 0o644)
	s, err = RemoteStated(file, Statements{Migrates: "yes"})
	if err != nil || s.Migration == nil || !*s.Migration {
		t.Errorf("flags over the file: %+v %v", s, err)
	}
	if _, err := RemoteStated(file+".missing", Statements{}); err == nil || !strings.HasPrefix(err.Error(), "--host-config: ") {
		t.Errorf("a missing file: %v", err)
	}
	os.WriteFile(file, []byte("migrations: false\n"), 0o644)
	if _, err := RemoteStated(file, Statements{}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a misspelt key: %v", err)
	}
}

func TestOneLine(t *testing.T) {
	if got := OneLine(errors.New("a\n  b\tc  ")); got != "a b c" {
		t.Errorf("%q", got)
	}
}

package snapshot

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/linux"
)

func TestSnapshotFiltersKeepOnlyWhatTheProbeReads(t *testing.T) {
	env := filters["proc/1/environ"].fn([]byte("PATH=/bin\x00API_TOKEN=s3cret\x00container=podman\x00HOME=/root\x00"))
	if string(env) != "container=podman\x00" {
		t.Errorf("environ kept %q", env)
	}
	if env := filters["proc/1/environ"].fn([]byte("AWS_SECRET_ACCESS_KEY=abc\x00")); len(env) != 0 {
		t.Errorf("environ without container= kept %q", env)
	}
	cmd := filters["proc/cmdline"].fn([]byte("BOOT_IMAGE=/vmlinuz rd.iscsi.password=hunter2 kvm_intel.nested=1 rdinit=/init quiet -- --token=abc\n"))
	if string(cmd) != "kvm_intel.nested=1 rdinit=/init\n" {
		t.Errorf("cmdline kept %q", cmd)
	}
	if argv := filters["proc/1/cmdline"].fn([]byte("/sbin/init\x00--secret\x00x\x00")); string(argv) != "/sbin/init\x00" {
		t.Errorf("argv kept %q", argv)
	}
	if tag := filters["sys/class/dmi/id/chassis_asset_tag"].fn([]byte("ACME-ASSET-0042\n")); strings.Contains(string(tag), "ACME") {
		t.Errorf("asset tag kept %q", tag)
	}
}

// TestASnapshotOfThisMachineIsSafeToAttach: no file more readable than on the
// machine, the filtered files filtered, and a manifest saying so.
func TestASnapshotOfThisMachineIsSafeToAttach(t *testing.T) {
	s, err := Take("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "snap")
	if err := s.WriteDir(dst); err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Files {
		if f.Path == probe.CPUIDFile || f.Path == probe.ManifestFile {
			continue
		}
		src, err := os.Stat("/" + f.Path)
		if err != nil {
			continue
		}
		st, err := os.Stat(filepath.Join(dst, f.Path))
		if err != nil {
			t.Errorf("%s: %v", f.Path, err)
			continue
		}
		if st.Mode().Perm()&^src.Mode().Perm() != 0 {
			t.Errorf("%s is %v in the snapshot, %v on the machine", f.Path, st.Mode().Perm(), src.Mode().Perm())
		}
		if st.Mode().Perm()&0o133 != 0 {
			t.Errorf("%s is %v: writable by others or executable", f.Path, st.Mode().Perm())
		}
	}
	if s.Manifest.Filtered["proc/cmdline"] == "" || s.Manifest.Paths["proc/cpuinfo"] != "file" {
		t.Errorf("manifest: %+v", s.Manifest)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "proc/cmdline")); err == nil && strings.Contains(string(b), "--") {
		t.Errorf("the kernel command line kept the init's arguments: %q", b)
	}
	// The machine's ID is confidential (machine-id(5)): the snapshot holds only
	// nestvirt's ID derived from it, and replays to the same.
	if own, err := os.ReadFile("/etc/machine-id"); err == nil && len(bytes.TrimSpace(own)) > 0 {
		kept, _ := os.ReadFile(filepath.Join(dst, "etc/machine-id"))
		if bytes.Contains(kept, bytes.TrimSpace(own)) || !bytes.HasPrefix(kept, []byte(probe.DerivedIDPrefix)) {
			t.Errorf("the snapshot's etc/machine-id: %q", kept)
		}
		if s.Facts.MachineID == nil {
			t.Fatal("no machine ID")
		}
		r, err := probe.OpenRoot(dst)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		replayed, _ := linux.Probe(r, nil)
		if replayed.MachineID == nil || *replayed.MachineID != *s.Facts.MachineID {
			t.Errorf("replayed ID %v, live %s", replayed.MachineID, *s.Facts.MachineID)
		}
	}
}

func TestSnapshotRefusesADirectoryItCannotTrust(t *testing.T) {
	s := &Files{Files: []File{{Path: "proc/cpuinfo", Data: []byte("x"), Mode: 0o444}}}
	base := t.TempDir()
	full := filepath.Join(base, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	link := filepath.Join(base, "link")
	os.Symlink(base, link)
	foreign := filepath.Join(base, "foreign")
	os.MkdirAll(foreign, 0o755)
	if os.Geteuid() == 0 {
		os.Chown(foreign, 65534, 65534)
	}
	for _, tt := range []struct{ dir, want string }{
		{full, "not empty"},
		{link, "symlink"},
		{foreign, "another user"},
	} {
		if tt.want == "another user" && os.Geteuid() != 0 {
			continue
		}
		if err := s.WriteDir(tt.dir); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.dir, err, tt.want)
		}
	}
}

// TestAPlantedSymlinkCannotRedirectASnapshotWrite: a user who can write into the
// snapshot directory after its check plants a link to a system path; the write
// must not follow it.
func TestAPlantedSymlinkCannotRedirectASnapshotWrite(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "etc-like")
	os.MkdirAll(target, 0o755)
	dst := filepath.Join(base, "snap")
	os.MkdirAll(dst, 0o755)
	os.Symlink(target, filepath.Join(dst, "proc"))
	s := &Files{Files: []File{{Path: "proc/cpuinfo", Data: []byte("x"), Mode: 0o444}}}
	_ = s.writeFiles(dst)
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("a write followed the planted link: %v", ents)
	}
}

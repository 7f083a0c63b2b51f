package sos_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/ulikunitz/xz"

	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/machine"
	"github.com/nestvirt/nestvirt/internal/sos"
)

// materialize writes a txtar report as a directory named like a report.
func materialize(t *testing.T, file string) (dir string, want map[string]any) {
	t.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ar.Comment), "Source: ") {
		t.Error("the report does not cite its source")
	}
	dir = filepath.Join(t.TempDir(), "sosreport-"+strings.TrimSuffix(filepath.Base(file), ".txtar"))
	for _, f := range ar.Files {
		if f.Name == "expected.json" {
			if err := json.Unmarshal(f.Data, &want); err != nil {
				t.Fatal(err)
			}
			continue
		}
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, want
}

// archive packs dir as sos does (one top directory), compressed by compress.
func archive(t *testing.T, dir, name string, compress func(io.Writer) io.WriteCloser) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(dir)+name)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cw := compress(f)
	tw := tar.NewWriter(cw)
	base := filepath.Dir(dir)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(base, p)
		h, _ := tar.FileInfoHeader(fi, "")
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		tw.WriteHeader(h)
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			tw.Write(b)
		}
		return nil
	})
	tw.Close()
	cw.Close()
	f.Close()
	return out
}

func gz(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }
func xzw(w io.Writer) io.WriteCloser {
	x, err := xz.NewWriter(w)
	if err != nil {
		panic(err)
	}
	return x
}

// facts probes a report as check --sos does and renders what a test compares.
func facts(t *testing.T, p string) map[string]any {
	t.Helper()
	r, err := sos.Open(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	f, err := machine.Probe(probe.OpenReport(r))
	if err != nil {
		t.Fatal(err)
	}
	res, err := judge.Check(policy.Default(), f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(f)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["verdict"] = res.Verdict.String()
	var vms []string
	for _, v := range judge.VMs(policy.Default(), f, r.Domains(), nil).VMs {
		vms = append(vms, v.Name+" "+v.State)
		if v.Error != "" {
			t.Errorf("domain %s: %s", v.Name, v.Error)
		}
	}
	m["vms"] = vms
	return m
}

func at(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return "<missing>"
		}
		cur = mm[k]
	}
	return cur
}

// TestWrittenReportsReadAsTheMachine: reports of situations a CI machine cannot
// be (an AMD L0, an older sos layout, a guest of VMware, IBM Z), each read from its
// directory, its .tar.xz and its .tar.gz, to the same facts.
func TestWrittenReportsReadAsTheMachine(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) < 4 {
		t.Fatalf("%d reports", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			dir, want := materialize(t, file)
			got := facts(t, dir)
			for path, w := range want {
				g := at(got, path)
				if path == "vms" {
					g = strings.Join(toStrings(got["vms"]), ",")
					w = strings.Join(toStrings(w), ",")
				}
				if fmt.Sprint(g) != fmt.Sprint(w) {
					t.Errorf("%s = %v, want %v (notes %v)", path, g, w, got["notes"])
				}
			}
			for _, a := range []string{archive(t, dir, ".tar.xz", xzw), archive(t, dir, ".tar.gz", gz)} {
				fromArchive := facts(t, a)
				delete(fromArchive, "notes")
				d := facts(t, dir)
				delete(d, "notes")
				ja, _ := json.Marshal(fromArchive)
				jd, _ := json.Marshal(d)
				if !bytes.Equal(ja, jd) {
					t.Errorf("%s and the directory differ:\n%s\n%s", filepath.Base(a), ja, jd)
				}
			}
		})
	}
}

func toStrings(v any) []string {
	var out []string
	switch x := v.(type) {
	case []string:
		out = x
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	}
	sort.Strings(out)
	return out
}

// TestWhatAReportLacksIsUnknown: a report says nothing of /dev/kvm's access, of
// containers, of modprobe.d files sos does not collect; a module lsmod does not
// list is absent.
func TestWhatAReportLacksIsUnknown(t *testing.T) {
	dir, _ := materialize(t, "testdata/rhel9-intel-nesting-off.txtar")
	r, err := sos.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := machine.Probe(probe.OpenReport(r))
	if f.KVM.Accessible != nil || f.KVM.Device != nil || f.Virtualization.Container != nil {
		t.Errorf("accessible %v device %v container %v: a report cannot know them", f.KVM.Accessible, f.KVM.Device, f.Virtualization.Container)
	}
	if f.KVM.NestedNext != nil {
		t.Errorf("nested_next %v: sos does not collect /usr/lib/modprobe.d", *f.KVM.NestedNext)
	}
	for rel, absent := range map[string]bool{"sys/module/kvm_amd": true, "sys/module/kvm_amd/parameters/nested": true,
		"etc/modprobe.d/other.conf": true, "sys/module/kvm_intel/parameters/nope": true, "dev/kvm": false, ".dockerenv": false, "usr/lib/modprobe.d/x.conf": false} {
		if got := r.Absent(rel); got != absent {
			t.Errorf("Absent(%s) = %v, want %v", rel, got, absent)
		}
	}
	if !strings.Contains(strings.Join(f.Notes, "\n"), "usr/lib/modprobe.d, lib/modprobe.d could not be read") {
		t.Errorf("notes: %v", f.Notes)
	}
}

// TestHostileReportsAreRefusedOrConfined: a truncated archive, a member that
// climbs out of the report, a huge member, a tree that is no sosreport, garbage.
func TestHostileReportsAreRefusedOrConfined(t *testing.T) {
	dir, _ := materialize(t, "testdata/rhel10-amd-l0-nested.txtar")
	good := archive(t, dir, ".tar.gz", gz)
	b, _ := os.ReadFile(good)
	truncated := filepath.Join(t.TempDir(), "truncated.tar.gz")
	os.WriteFile(truncated, b[:len(b)/2], 0o644)
	if _, err := sos.Open(truncated); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: %s", err)
	}

	// Members named ../../etc/passwd and /etc/shadow, and one of 16 MiB that
	// does not compress (a large log) where nestvirt would read proc/cpuinfo:
	// skipped, and the member after it read.
	evil := filepath.Join(t.TempDir(), "evil.tar.gz")
	f, _ := os.Create(evil)
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	put := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	put("sosreport-evil/version.txt", []byte("sosreport: 4.8\n"))
	put("sosreport-evil/../../etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n"))
	put("/etc/shadow", []byte("root:!:\n"))
	noise := make([]byte, 16<<20)
	rand.NewChaCha8([32]byte{1}).Read(noise) // does not compress
	put("sosreport-evil/proc/cpuinfo", noise)
	put("sosreport-evil/etc/os-release", []byte("ID=rhel\nVERSION_ID=10.0\n"))
	tw.Close()
	zw.Close()
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	r, err := sos.Open(evil)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("evil: %s", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128<<20 {
		t.Errorf("reading a 16 MiB member allocated %d MiB", alloc>>20)
	}
	t.Logf("a 16 MiB member skipped in %s", time.Since(start))
	if _, _, err := r.ReadFile("etc/passwd", 1<<20); err == nil {
		t.Error("a member outside the report was read")
	}
	if _, _, err := r.ReadFile("proc/cpuinfo", 1<<20); !errors.Is(err, sos.ErrTooLarge) {
		t.Errorf("the huge member: %s", err)
	}
	if b, _, err := r.ReadFile("etc/os-release", 1<<20); err != nil || !strings.Contains(string(b), "rhel") {
		t.Errorf("the member after the huge one: %q %v", b, err)
	}
	fa, _ := machine.Probe(probe.OpenReport(r))
	if fa.CPUVendor != nil || !strings.Contains(strings.Join(fa.Notes, "\n"), "too large") {
		t.Errorf("a cpuinfo too large to read: vendor %v, notes %v", fa.CPUVendor, fa.Notes)
	}

	notSos := t.TempDir()
	os.MkdirAll(filepath.Join(notSos, "proc"), 0o755)
	os.WriteFile(filepath.Join(notSos, "proc/cpuinfo"), []byte("vendor_id : GenuineIntel\n"), 0o644)
	garbage := filepath.Join(t.TempDir(), "garbage.tar.xz")
	os.WriteFile(garbage, []byte("\xfd7zXZ\x00 this is not xz"), 0o644)
	empty := filepath.Join(t.TempDir(), "empty.tar")
	os.WriteFile(empty, make([]byte, 1024), 0o644)
	for p, want := range map[string]string{notSos: "not a sosreport", garbage: "xz", empty: "not a sosreport", "/nonexistent": "no such file"} {
		if _, err := sos.Open(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", p, err, want)
		}
	}
}

// FuzzOpenArchive: no archive panics or hangs the reader, or lets a member out.
func FuzzOpenArchive(f *testing.F) {
	var seed bytes.Buffer
	zw := gzip.NewWriter(&seed)
	tw := tar.NewWriter(zw)
	for name, data := range map[string]string{
		"sosreport-x/version.txt":                     "sosreport: 4.8\n",
		"sosreport-x/sos_commands/kernel/uname_-a":    "Linux h 6.12.0 #1 SMP x86_64 GNU/Linux\n",
		"sosreport-x/sos_commands/hardware/dmidecode": "System Information\n\tManufacturer: QEMU\n",
		"sosreport-x/proc/modules":                    "kvm 1 0 - Live 0x0\n",
		"sosreport-x/sos_commands/kernel/lsmod":       "Module Size Used by\nkvm 1 0\n",
	} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write([]byte(data))
	}
	tw.WriteHeader(&tar.Header{Name: "sosreport-x/etc/os-release", Linkname: "../../../../etc/passwd", Typeflag: tar.TypeSymlink})
	tw.Close()
	zw.Close()
	f.Add(seed.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "r.tar.gz")
		os.WriteFile(p, data, 0o644)
		r, err := sos.Open(p)
		if err != nil {
			return
		}
		if b, _, err := r.ReadFile("etc/os-release", 1<<20); err == nil && bytes.Contains(b, []byte("root:")) {
			t.Fatal("a link left the report")
		}
		machine.Probe(probe.OpenReport(r))
	})
}

// bomb writes an archive whose one member is n bytes of zeros, compressed.
func bomb(t *testing.T, ext string, n int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bomb"+ext)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var w io.WriteCloser
	switch ext {
	case ".tar.gz":
		w, _ = gzip.NewWriterLevel(f, gzip.BestCompression)
	case ".tar.xz":
		w, _ = xz.NewWriter(f)
	}
	tw := tar.NewWriter(w)
	tw.WriteHeader(&tar.Header{Name: "sosreport-bomb/version.txt", Mode: 0o644, Size: 15, Typeflag: tar.TypeReg})
	tw.Write([]byte("sosreport: 4.8\n"))
	tw.WriteHeader(&tar.Header{Name: "sosreport-bomb/var/log/huge", Mode: 0o644, Size: n, Typeflag: tar.TypeReg})
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		tw.Write(zero[:min(int64(len(zero)), left)])
	}
	tw.Close()
	w.Close()
	f.Close()
	return path
}

// TestADecompressionBombStopsAtItsBudget: archives of a few KiB that expand to
// gigabytes are refused once they pass what an archive of their size may
// expand to, in bounded time and memory.
func TestADecompressionBombStopsAtItsBudget(t *testing.T) {
	for _, ext := range []string{".tar.gz", ".tar.xz"} {
		b := bomb(t, ext, 256<<20)
		st, _ := os.Stat(b)
		start := time.Now()
		_, err := sos.Open(b)
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "decompression bomb") {
			t.Errorf("%s (%d KiB, 256 MiB expanded): %v", ext, st.Size()>>10, err)
		}
		// The message names this archive's budget, not the largest one.
		if want := fmt.Sprintf("(%d MiB for an archive of this size)", (sos.MaxRatio*st.Size()+64<<20)>>20); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", ext, err, want)
		}
		if took > 10*time.Second {
			t.Errorf("%s: refused after %s", ext, took)
		}
		t.Logf("%s of %d KiB refused in %s", ext, st.Size()>>10, took)
	}
}

// TestATruncatedTrailerIsAnError: an xz or gzip archive cut inside its
// compressed trailer, after tar's own end, is reported damaged, not read as
// whole.
func TestATruncatedTrailerIsAnError(t *testing.T) {
	dir, _ := materialize(t, "testdata/rhel10-amd-l0-nested.txtar")
	for _, c := range []struct {
		ext string
		wr  func(io.Writer) io.WriteCloser
	}{{".tar.gz", gz}, {".tar.xz", func(w io.Writer) io.WriteCloser { x, _ := xz.NewWriter(w); return x }}} {
		good := archive(t, dir, c.ext, c.wr)
		b, _ := os.ReadFile(good)
		if _, err := sos.Open(good); err != nil {
			t.Fatalf("%s whole: %v", c.ext, err)
		}
		cut := filepath.Join(t.TempDir(), "cut"+c.ext)
		os.WriteFile(cut, b[:len(b)-4], 0o644) // the checksum and size, or the stream footer
		if _, err := sos.Open(cut); err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("%s without its last 4 bytes: %v", c.ext, err)
		}
	}
	// An xz stream cut where its last block ends: the index and the stream
	// footer are gone, and `xz -t` says "Unexpected end of input". The footer's
	// backward size says where the index starts.
	good := archive(t, dir, ".tar.xz", xzw)
	b, _ := os.ReadFile(good)
	backward := (int(binary.LittleEndian.Uint32(b[len(b)-8:len(b)-4])) + 1) * 4
	atIndex := len(b) - 12 - backward
	cut := filepath.Join(t.TempDir(), "cut-at-index.tar.xz")
	os.WriteFile(cut, b[:atIndex], 0o644)
	if _, err := sos.Open(cut); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf(".tar.xz cut after its last block (no index, no footer): %v", err)
	}
}

// TestAReportSaysWhenItWasCollected: sos writes start_time as Python's
// str(datetime.now()) (sos/component.py: manifest.add_field('start_time',
// datetime.now())); a manifest without it, or with what is no time, says nothing.
func TestAReportSaysWhenItWasCollected(t *testing.T) {
	for _, tt := range []struct{ manifest, want string }{
		{`{"version": "4.8.2", "start_time": "2026-11-30 09:15:02.123456"}`, "2026-11-30T09:15:02Z"},
		{`{"version": "4.8.2", "start_time": "2026-11-30 09:15:02"}`, "2026-11-30T09:15:02Z"},
		{`{"version": "4.8.2", "cmdline": "sos report --batch"}`, ""},
		{`{"version": "4.8.2", "start_time": "yesterday"}`, ""},
		{`not json`, ""},
	} {
		dir := filepath.Join(t.TempDir(), "sosreport-x")
		os.MkdirAll(filepath.Join(dir, "sos_reports"), 0o755)
		os.WriteFile(filepath.Join(dir, "sos_reports/manifest.json"), []byte(tt.manifest), 0o644)
		os.MkdirAll(filepath.Join(dir, "sos_commands"), 0o755)
		r, err := sos.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		at, ok := r.CollectedAt()
		got := ""
		if ok {
			got = at.Format(time.RFC3339)
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.manifest, got, tt.want)
		}
	}
}

package recorded_test

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/recorded"
	"github.com/nestvirt/nestvirt/internal/sos"
)

// fixture is a real sosreport of a PVM host with the nestvirt package's
// drop-in installed: sos report --batch --only-plugins
// sos_extras,kernel,processor,hardware,host,release,libvirt, with one VM
// (lab1) defined and annotated; proc/kallsyms (kernel symbol addresses) was
// removed from it, nothing else changed.
const fixture = "testdata/sosreport-pvm-host.tar.xz"

func read(t *testing.T, p string) *recorded.Record {
	t.Helper()
	r, err := sos.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	return recorded.Read(r.Files(recorded.Dir))
}

func TestTheRecordOfARealSosreport(t *testing.T) {
	rec := read(t, fixture)
	if rec == nil || rec.Check == nil || rec.VMs == nil || rec.CheckErr != nil || rec.VMsErr != nil {
		t.Fatalf("%+v", rec)
	}
	if !strings.HasPrefix(rec.Version, "nestvirt ") || !strings.HasPrefix(rec.Policy, "rhel-10:") || !strings.HasPrefix(rec.GuardStatus, "not installed") {
		t.Errorf("version %q, policy %q, guard %q", rec.Version, rec.Policy, rec.GuardStatus)
	}
	if rec.Check.Verdict == nil || *rec.Check.Verdict != policy.DoesNotWork || len(rec.VMs.VMs) != 1 || rec.VMs.VMs[0].Name != "lab1" {
		t.Errorf("check %v, vms %+v", rec.Check.Verdict, rec.VMs.VMs)
	}
	p := rec.Part()
	if p.Verdict == nil || p.CheckedAt == nil || len(p.Findings) == 0 || len(p.VMs) != 1 || len(p.Problems) != 0 {
		t.Errorf("part %+v", p)
	}
	// The same judgement now: nothing differs.
	if f := recorded.Differs(rec, *rec.Check.Verdict, rec.Check.Findings, *rec.Check.Host, "rhel-10"); f != nil {
		t.Errorf("the same judgement differs: %s", f.Message)
	}
}

// extract writes the fixture's files into a directory, each passed through
// edit (nil drops it).
func extract(t *testing.T, edit func(name string, data []byte) []byte) string {
	t.Helper()
	f, err := os.Open(fixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xr, err := xz.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(xr)
	top := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		top = strings.SplitN(h.Name, "/", 2)[0]
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, _ := io.ReadAll(tr)
		if data = edit(h.Name, data); data == nil {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, data, 0o644)
	}
	return filepath.Join(dir, top)
}

// TestADifferenceIsAFinding: a report whose recorded check says otherwise
// than its files (a verdict, a rule) gets a finding that says what differs; a
// recorded document that is not valid is reported and not trusted.
func TestADifferenceIsAFinding(t *testing.T) {
	rec := read(t, fixture)
	now := rec.Check.Findings
	for name, tc := range map[string]struct {
		verdict policy.Level
		drop    string
		want    []string
	}{
		"verdict":       {policy.Supported, "", []string{"judged itself does-not-work then", "judged supported now"}},
		"a rule gone":   {policy.DoesNotWork, "host-pvm", []string{"found then, not now: host-pvm"}},
		"the same":      {policy.DoesNotWork, "", nil},
		"nothing valid": {},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "nothing valid" {
				dir := extract(t, func(n string, d []byte) []byte {
					if strings.Contains(n, "nestvirt_check") {
						return []byte(`{"schema":"https://nestvirt.dev/schema/check/v1","verdict":"fine","host":null}`)
					}
					return d
				})
				bad := read(t, dir)
				if bad.Check != nil || bad.CheckErr == nil || len(bad.Part().Problems) != 1 || bad.Part().Verdict != nil {
					t.Errorf("an invalid recorded check was trusted: %+v", bad.Part())
				}
				if f := recorded.Differs(bad, policy.Supported, nil, probe.Facts{}, "rhel-10"); f != nil {
					t.Errorf("an untrusted record made a finding: %s", f.Message)
				}
				return
			}
			var fs []policy.Finding
			for _, f := range now {
				if f.Rule != tc.drop {
					fs = append(fs, f)
				}
			}
			f := recorded.Differs(rec, tc.verdict, fs, *rec.Check.Host, "rhel-10")
			if tc.want == nil {
				if f != nil {
					t.Errorf("%s", f.Message)
				}
				return
			}
			if f == nil || f.Rule != recorded.Rule || !f.Informational {
				t.Fatalf("%+v", f)
			}
			for _, w := range tc.want {
				if !strings.Contains(f.Message, w) {
					t.Errorf("%q lacks %q", f.Message, w)
				}
			}
			b, _ := json.Marshal(f)
			if !strings.Contains(string(b), recorded.Rule) {
				t.Error(string(b))
			}
		})
	}
}

package topology

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

func TestBadFilesNameTheLineAndTheProblem(t *testing.T) {
	tests := []struct {
		file string
		want []string // each must appear in the error text
	}{
		{"typo.yaml", []string{
			`typo.yaml:3:3: host.nme: unknown key "nme"; did you mean "name"?`,
			`typo.yaml:7:7: host.guests[0].hypervisr: unknown key "hypervisr"; did you mean "hypervisor"?`,
			`typo.yaml:8:13: host.guests[1].name: duplicate name "a" (also at line 5)`,
			`typo.yaml:10:9: host.arch: unknown value "arm64"`,
			`host.guests[0].os: unknown OS "win2k91"`,
		}},
		{"typo.json", []string{`typo.json:1:54: host.guests[0].oss: unknown key "oss"; did you mean "os"?`}},
		{"types.yaml", []string{
			`types.yaml:2:7: host.os: unknown OS "10"`,
			`types.yaml:3:11: host.nested: must be true or false, not a string`,
			`types.yaml:4:11: host.guests: must be a list, not a mapping`,
		}},
		{"empty.yaml", []string{"empty.yaml: empty document"}},
		{"nohost.yaml", []string{"nohost.yaml:1:5: host: missing: a topology needs a host"}},
		{"duplicate.yaml", []string{`duplicate.yaml:6:13: host.guests[1].name: duplicate name "a" (also at line 4)`}},
		{"nested-host.yaml", []string{`nested-host.yaml:3:3: host.host: unknown key "host"`}},
		{"tab.yaml", []string{"tab.yaml:3:1: YAML syntax:"}},
		{"two-docs.yaml", []string{"two-docs.yaml:4:5: more than one YAML document"}},
		{"version.yaml", []string{"version.yaml:1:10: version: unsupported version 2"}},
		{"cpu-arch.yaml", []string{"host.cpu: cpu is only for x86_64"}},
		{"hv.yaml", []string{`hv.yaml:4:10: host.guests[0].hypervisor: guest "a" has guests: say what runs them`}},
		{"wrong-hv.yaml", []string{"wrong-hv.yaml:6:19: host.guests[0].hypervisor: wsl2 is a Windows hypervisor", "wrong-hv.yaml:10:19: host.guests[1].hypervisor: a Windows guest does not run kvm"}},
		{"windows-kvm.yaml", []string{"host.os: a KVM host runs Linux, not Windows Server 2022"}},
		{"no-version.yaml", []string{`host.os: unknown OS "ubuntu" (a Ubuntu name needs a version, as in ubuntu24.04)`}},
		{"selfref.yaml", []string{"guests nest deeper than L16"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(tt.file, data)
			var probs strictyaml.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("want Problems, got %s", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q; got:\n%v", w, err)
				}
			}
		})
	}
}

func TestHostileInputIsRefusedQuickly(t *testing.T) {
	deepFlow := `{"host": {"os": "rhel10.0", "guests": ` + strings.Repeat(`[{"name": "g", "os": "rhel10.0", "guests": `, 3000) + "[]" + strings.Repeat("}]", 3000) + "}}"
	var deepBlock strings.Builder
	deepBlock.WriteString("host:\n  os: rhel10.0\n  guests:\n")
	ind := "  "
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&deepBlock, "%s- name: g%d\n%s  os: rhel10.0\n%s  guests:\n", ind, i, ind, ind)
		ind += "  "
		if deepBlock.Len() > 15<<20 {
			break
		}
	}
	var laughs strings.Builder
	laughs.WriteString("host:\n  os: rhel10.0\n  guests: *l11\n")
	for i := 0; i < 12; i++ {
		var items []string
		for j := 0; j < 9; j++ {
			g := ""
			if i > 0 {
				g = fmt.Sprintf(", guests: *l%d", i-1)
			}
			items = append(items, fmt.Sprintf("{name: n%d_%d, os: rhel10.0, hypervisor: kvm%s}", i, j, g))
		}
		fmt.Fprintf(&laughs, "x%d: &l%d [%s]\n", i, i, strings.Join(items, ", "))
	}
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(i * 7919 % 251)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"3000 levels of flow nesting", []byte(deepFlow), "nesting is deeper than"},
		{"3000 levels of block nesting", []byte(deepBlock.String()), "nest"},
		{"a billion laughs through aliases", []byte(laughs.String()), "test.yaml"},
		{"binary garbage", garbage, "not a text file"},
		{"a file over the size limit", bytes.Repeat([]byte("a"), strictyaml.MaxBytes+1), "limit"},
		{"NUL bytes in text", []byte("host:\n  os: rhel10.0\x00\n"), "not a text file"},
		// Within the size limit, but far over the value budget: these took 10 to 26 s
		// and 2 to 7 GB when the whole syntax tree was built first.
		{"16 MiB of guests", bigFile("host:\n  os: rhel10.0\n  guests:\n", "    - {name: g, os: rhel10.0}\n"), "the limit is 100000"},
		{"16 MiB of list items", bigFile("x: [", "1,"), "the limit is 100000"},
		{"16 MiB of keys", bigFile("", "k: v\n"), "the limit is 100000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Parse("test.yaml", tt.data)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
			if took > 5*time.Second {
				t.Errorf("took %v", took)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
				t.Errorf("allocated %d MiB to refuse it", alloc>>20)
			}
		})
	}
}

// bigFile repeats item after head up to just under the size limit.
func bigFile(head, item string) []byte {
	n := (strictyaml.MaxBytes - len(head) - 16) / len(item)
	return []byte(head + strings.Repeat(item, n) + "\n")
}

func TestReadFileRefusesHugeFilesWithoutReadingThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse 300 MB file: reading it whole would take the memory the limit protects.
	if err := f.Truncate(300 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadFile(path, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Fatalf("got %s", err)
	}
}

func TestDefaultsAndChains(t *testing.T) {
	topo, err := Parse("t.yaml", []byte(`name: lab
host:
  os: rhel-10.0
  guests:
    - name: a
      os: rhel9.6
      guests:
        - {name: a1, os: rhel10.0}
        - {name: a2, os: windows-server-2022}
    - name: b
      os: windows-11
`))
	if err != nil {
		t.Fatal(err)
	}
	h := topo.Host
	if h.Name != "host" || h.Arch != "x86_64" || h.CPU != "intel" || h.Hypervisor != "kvm" || h.Platform != "rhel" || !h.Nested || h.Hugepages || h.Migration {
		t.Errorf("defaults: %+v", h)
	}
	if h.OS.ID != "rhel10.0" || h.Guests[0].Runs != "kvm" || h.Guests[1].Runs != "none" {
		t.Errorf("inferred: os %v, runs %q %q", h.OS, h.Guests[0].Runs, h.Guests[1].Runs)
	}
	var paths []string
	for _, c := range topo.Chains() {
		paths = append(paths, strings.Join(c.Path(), "/"))
	}
	if got := strings.Join(paths, " "); got != "host/a/a1 host/a/a2 host/b" {
		t.Errorf("chains = %s", got)
	}
}

func TestAnchorsAndAliasesWork(t *testing.T) {
	topo, err := Parse("t.yaml", []byte(`host:
  os: rhel10.0
  guests:
    - &base {name: a, os: rhel10.0}
    - name: b
      os: rhel10.0
      guests: [*base]
`))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(topo.Chains()); n != 2 {
		t.Errorf("chains = %d", n)
	}
}

func TestExpandReadsDirectoriesInOrder(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.yaml", "a.json", "c.yml", "notes.txt", "D.YAML", "sub/e.yaml"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644)
	}
	got, skipped, err := Expand([]string{dir, "-"}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "D.YAML"), filepath.Join(dir, "a.json"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.yml"), "-"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v want %v", got, want)
	}
	if s := strings.Join(skipped, "|"); !strings.Contains(s, "notes.txt (not .yaml, .yml, .json)") || !strings.Contains(s, "sub/ (a directory: --recursive reads it)") {
		t.Errorf("skipped %v: what is not read must be said", skipped)
	}
	got, skipped, _ = Expand([]string{dir}, true)
	if len(got) != 5 || got[4] != filepath.Join(dir, "sub/e.yaml") || len(skipped) != 1 {
		t.Errorf("recursive: %v, skipped %v", got, skipped)
	}
	// A missing file is passed on, for the loader to report beside the others.
	if got, _, err := Expand([]string{filepath.Join(dir, "missing.yaml")}, false); err != nil || len(got) != 1 {
		t.Errorf("a missing file: %v %v", got, err)
	}
	empty := t.TempDir()
	if _, _, err := Expand([]string{empty}, false); err == nil || !strings.Contains(err.Error(), "no topology files") {
		t.Errorf("empty dir: %s", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/bad", "../../examples"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("host: {os: rhel10.0, guests: [{name: a, os: win11, hypervisor: wsl2, guests: [{name: b, os: ubuntu24.04}]}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := Parse("fuzz.yaml", data)
		if err != nil {
			var probs strictyaml.Problems
			if !errors.As(err, &probs) || len(probs) == 0 {
				t.Fatalf("error is not Problems: %s", err)
			}
			return
		}
		if topo.Host.Name == "" || len(topo.Chains()) == 0 {
			t.Fatalf("valid topology without host name or chains: %+v", topo)
		}
	})
}

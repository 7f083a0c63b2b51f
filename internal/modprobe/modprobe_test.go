package modprobe

import (
	"slices"
	"strings"
	"testing"
)

// TestOrderIsModprobes: a name in a directory of higher precedence hides the
// same name below it, and files are read in name order across directories.
func TestOrderIsModprobes(t *testing.T) {
	files := []File{
		{Path: "usr/lib/modprobe.d/kvm.conf"},
		{Path: "lib/modprobe.d/50-x.conf"},
		{Path: "etc/modprobe.d/kvm.conf"},
		{Path: "run/modprobe.d/10-first.conf"},
		{Path: "usr/local/lib/modprobe.d/kvm.conf"},
		{Path: "usr/lib/modprobe.d/99-last.conf"},
	}
	var got []string
	for _, f := range Order(files) {
		got = append(got, f.Path)
	}
	want := []string{"run/modprobe.d/10-first.conf", "lib/modprobe.d/50-x.conf", "usr/lib/modprobe.d/99-last.conf", "etc/modprobe.d/kvm.conf"}
	if !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
}

// TestParseReadsWhatModprobePasses: the last assignment wins, the kernel
// command line comes after every file, "-" and "_" are one, continuations join,
// quotes group, and lines modprobe would misread are reported with their place.
func TestParseReadsWhatModprobePasses(t *testing.T) {
	files := []File{
		{Path: "etc/modprobe.d/a.conf", Data: []byte("# comment\noptions kvm-intel nested=0 \\\n  enable_shadow_vmcs=1\nblacklist pcspkr\n\toptions kvm_amd nested=1\n")},
		{Path: "etc/modprobe.d/b.conf", Data: []byte("options kvm_intel nested=1 ept=\"Y\"\noptions\noptions kvm_intel =3\noptions kvm_intel nested=\"0\n" + "options kvm " + strings.Repeat("x", MaxLine) + "\n")},
	}
	c := Parse(files, `quiet kvm-amd.nested=0 kvm_intel.nested=Y BOOT_IMAGE=/vmlinuz foo.`)
	tests := []struct {
		module, param, value, where string
		n                           int
	}{
		{"kvm_intel", "nested", "Y", "kernel command line", 3},
		{"kvm_amd", "nested", "0", "kernel command line", 2},
		{"kvm_intel", "enable_shadow_vmcs", "1", "etc/modprobe.d/a.conf:2", 1},
		{"kvm_intel", "ept", "Y", "etc/modprobe.d/b.conf:1", 1},
	}
	for _, tt := range tests {
		last, all := c.Effective(tt.module, tt.param)
		if last == nil || last.Value != tt.value || !strings.Contains(last.String(), tt.where) || len(all) != tt.n {
			t.Errorf("%s.%s: %v (%d assignments), want %s from %s (%d)", tt.module, tt.param, last, len(all), tt.value, tt.where, tt.n)
		}
	}
	if last, _ := c.Effective("kvm_intel", "missing"); last != nil {
		t.Errorf("an unset parameter: %v", last)
	}
	var problems []string
	for _, p := range c.Problems {
		problems = append(problems, p.String())
	}
	want := []string{
		"etc/modprobe.d/b.conf:2: options without a module name",
		`etc/modprobe.d/b.conf:3: malformed option "=3"`,
		"etc/modprobe.d/b.conf:4: unbalanced quotes; modprobe would misread this line",
		"etc/modprobe.d/b.conf:5: line longer than 65536 bytes; skipped",
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

func TestBoolReadsParametersAsTheKernelDoes(t *testing.T) {
	for v, want := range map[string][2]bool{
		"Y": {true, true}, "y\n": {true, true}, "1": {true, true}, "N": {false, true}, "0": {false, true}, "n": {false, true},
		"": {false, false}, "maybe": {false, false}, " ": {false, false},
	} {
		if b, ok := Bool(v); b != want[0] || ok != want[1] {
			t.Errorf("Bool(%q) = %v %v, want %v", v, b, ok, want)
		}
	}
}

// FuzzParse: no configuration panics the reader or hangs it, and every
// setting it returns names a module and a parameter.
func FuzzParse(f *testing.F) {
	f.Add([]byte("options kvm_intel nested=1\n# c\noptions kvm hpage=\"1\" \\\n nested=0\n"), "kvm_amd.nested=0")
	f.Add([]byte("options \"kvm\" a=\"b c\" \\\n\\\n"), "x.y=\"z")
	f.Fuzz(func(t *testing.T, b []byte, cmdline string) {
		cfg := Parse([]File{{Path: "etc/modprobe.d/x.conf", Data: b}}, cmdline)
		for _, s := range cfg.Settings {
			if s.Module == "" || s.Param == "" {
				t.Fatalf("a setting without a module or parameter: %+v", s)
			}
		}
		cfg.Effective("kvm_intel", "nested")
	})
}

func TestModprobeOrderAndPrecedence(t *testing.T) {
	files := []File{
		{Path: "usr/lib/modprobe.d/kvm.conf", Data: []byte("options kvm_intel nested=0\n")},
		{Path: "etc/modprobe.d/zz.conf", Data: []byte("options kvm-intel nested=Y\n")},
		{Path: "etc/modprobe.d/kvm.conf", Data: []byte("options kvm_intel \\\n  nested=0 ept=1\n")},
		{Path: "lib/modprobe.d/aa.conf", Data: []byte("options kvm_intel nested=1\n")},
	}
	ordered := Order(files)
	var names []string
	for _, f := range ordered {
		names = append(names, f.Path)
	}
	if got := strings.Join(names, " "); got != "lib/modprobe.d/aa.conf etc/modprobe.d/kvm.conf etc/modprobe.d/zz.conf" {
		t.Errorf("order: %s", got)
	}
	cfg := Parse(ordered, "ro quiet")
	last, all := cfg.Effective("kvm_intel", "nested")
	if last == nil || last.Value != "Y" || last.File != "etc/modprobe.d/zz.conf" || len(all) != 3 {
		t.Errorf("last %v, all %v", last, all)
	}
	if all[1].Line != 1 || all[1].File != "etc/modprobe.d/kvm.conf" {
		t.Errorf("continued line: %+v", all[1])
	}
	cfg = Parse(ordered, "ro kvm-intel.nested=0 quiet")
	if last, _ := cfg.Effective("kvm_intel", "nested"); last == nil || last.Value != "0" || last.File != "" {
		t.Errorf("the kernel command line must win: %v", last)
	}
}

package cli

import (
	"strings"
	"testing"
)

// TestWhatANewUserTripsOn: the small things, each as the user meets it.
func TestWhatANewUserTripsOn(t *testing.T) {
	for _, c := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout []string
		stderr []string
		not    []string // in neither
	}{
		{"an argument to a command that takes none", "", []string{"vms", "extra"}, ExitInput, nil,
			[]string{`nestvirt vms takes no arguments (got "extra"); see nestvirt vms --help`}, []string{"unknown command"}},
		{"a wrong hypervisor is the one problem", "host: {name: h, hypervisor: hyperv, guests: [{name: r, os: rhel10.0}]}\n", []string{"plan", "-"}, ExitInput,
			[]string{"not judged (1 problem, on stderr)"}, []string{`unknown value "hyperv"`, `did you mean "hyper-v"?`}, []string{"a KVM host needs its OS", "1 problems"}},
		{"vmware means esxi, amd64 means x86_64", "host: {name: h, hypervisor: vmware, arch: amd64, guests: [{name: r, os: rhel10.0}]}\n", []string{"plan", "-"}, ExitInput,
			[]string{"(2 problems, on stderr)"}, []string{`unknown value "vmware" (one of: kvm, qemu, esxi, hyper-v, aws, xen, cloud, other); did you mean "esxi"?`, `unknown value "amd64" (one of: x86_64, aarch64, s390x, ppc64le); did you mean "x86_64"?`}, nil},
		{"arm64 and GenuineIntel", "host: {os: rhel10.0, arch: arm64, cpu: GenuineIntel}\n", []string{"plan", "-"}, ExitInput,
			nil, []string{`did you mean "aarch64"?`, `did you mean "intel"?`}, nil},
		{"no 'a aarch64'", "", []string{"check", "--root", snapshots + "aarch64-no-kvm/root"}, ExitFindings,
			[]string{"This machine's architecture is aarch64"}, nil, []string{"a aarch64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := nv(t, c.stdin, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errOut)
			}
			for _, w := range c.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out+errOut, w) {
					t.Errorf("has %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

// TestMatrixFitsTheWidth: COLUMNS=80 (a terminal, or a pager's) gets the
// matrix's columns one after the other instead of a 131-column table.
func TestMatrixFitsTheWidth(t *testing.T) {
	out, _, code := nvEnv(t, map[string]string{"LANG": "C.UTF-8", "COLUMNS": "80"}, "", "matrix")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, l := range strings.Split(out, "\n") {
		// A URL is never broken (it is copied whole): it may stand alone on a
		// line wider than the terminal.
		if f := strings.Fields(strings.TrimRight(l, ",.;")); len(f) == 1 && strings.Contains(f[0], "://") {
			continue
		}
		if n := len([]rune(l)); n > 80 {
			t.Errorf("a %d-column line: %q", n, l)
		}
	}
	wide, _, _ := nv(t, "", "matrix")
	if !strings.Contains(wide, "┌") {
		t.Error("without a width, the matrix is a table")
	}
}

// TestFailOnExtremes: --fail-on never exits 0 whatever the verdict; --fail-on
// supported exits 1 even on a supported file, and says so in --help.
func TestFailOnExtremes(t *testing.T) {
	bad := "../../examples/ibm-z-hugepages.yaml"
	good := "../../examples/wsl2-supported.yaml"
	if _, _, code := nv(t, "", "plan", "--fail-on", "never", bad); code != ExitOK {
		t.Errorf("--fail-on never on does-not-work: exit %d", code)
	}
	if _, _, code := nv(t, "", "plan", "--fail-on", "supported", good); code != ExitFindings {
		t.Errorf("--fail-on supported on a supported file: exit %d", code)
	}
	help, _, _ := nv(t, "", "plan", "--help")
	if !strings.Contains(help, "'supported' fails on every verdict, 'never' on none") {
		t.Errorf("--help does not say what the extremes do:\n%s", help)
	}
}

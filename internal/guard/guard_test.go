package guard

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/machine"
)

const snapshots = "../probe/testdata/snapshots/"

func facts(t *testing.T, name string) probe.Facts {
	t.Helper()
	r, err := probe.OpenRoot(snapshots + name + "/root")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, _ := machine.Probe(r)
	return f
}

const plainXML = "<domain type='kvm'><name>g</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>"
const hugeXML = "<domain type='kvm'><name>g</name><memory>65536</memory><memoryBacking><hugepages/></memoryBacking><os><type arch='s390x'>hvm</type></os></domain>"

func TestGuardDecidesAsTheRulesSay(t *testing.T) {
	p := policy.Default()
	tests := []struct {
		name              string
		host, op, xml     string
		mode              string
		failClosed        bool
		allow, judged     bool
		rule, messageWant string
	}{
		{"incoming migration to an AMD host with nesting on is refused", "amd-l0-nested", "migrate", plainXML, Enforce, false, false, true, "amd-migration", "Migrating VMs currently does not work on AMD"},
		{"in warn mode it is logged, not blocked", "amd-l0-nested", "migrate", plainXML, Warn, false, true, true, "amd-migration", "warning:"},
		{"starting a guest on that AMD host is fine", "amd-l0-nested", "prepare", plainXML, Enforce, false, true, true, "", ""},
		{"incoming migration to an Intel host is fine", "intel-l0-ready", "migrate", plainXML, Enforce, false, true, true, "", ""},
		{"huge pages on an IBM Z host with nesting on are refused at prepare, at any level", "s390x-level2", "prepare", hugeXML, Enforce, false, false, true, "s390x-hugepages", "huge-page backing and nesting"},
		{"a guest of a level-2 host is an L3: warned about, never blocked", "s390x-level2", "start", plainXML, Enforce, false, true, true, "l3-guests", "L3"},
		{"garbage on stdin is allowed by default", "amd-l0-nested", "prepare", "\x00garbage", Enforce, false, true, true, "", ""},
		{"garbage on stdin is refused when fail-closed", "amd-l0-nested", "prepare", "\x00garbage", Enforce, true, false, true, "", "cannot judge"},
		{"unknown operations are not judged", "amd-l0-nested", "frobnicate", plainXML, Enforce, true, true, false, "", ""},
		{"a host whose nested setting cannot be read is not blocked on", "contradictory", "migrate", plainXML, Enforce, false, true, true, "", ""},
		// On a guest host the migration is its own: the page's AMD limitation is
		// about the L0, which migrates nothing in this operation, so the guard
		// judges (it does not give up on the unseen L0's migration) and allows.
		{"an incoming migration to an L1 host is judged, not given up on", "rhel10-l1-on-tcg", "migrate", plainXML, Enforce, true, true, true, "non-kvm-l0", "warning:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(p, Input{Domain: "g", Op: tt.op, SubOp: "begin", XML: []byte(tt.xml), Facts: facts(t, tt.host), Mode: tt.mode, FailClosed: tt.failClosed})
			if d.Allow != tt.allow || d.Judged != tt.judged || d.Rule != tt.rule || !strings.Contains(d.Message, tt.messageWant) {
				t.Errorf("%+v", d)
			}
			if !strings.HasPrefix(d.Log, "nestvirt-guard: domain=\"g\" op="+tt.op) {
				t.Errorf("log line %q", d.Log)
			}
		})
	}
	big := Decide(p, Input{Domain: "g", Op: "prepare", SubOp: "begin", XMLTooLarge: true, Facts: facts(t, "amd-l0-nested"), Mode: Enforce})
	if !big.Allow || !strings.Contains(big.Log, "larger than") {
		t.Errorf("an oversized stdin: %+v", big)
	}
}

func TestScriptRecordsHowItWasInstalled(t *testing.T) {
	c := Config{Binary: "/opt/it's/nestvirt", Policy: "/etc/nestvirt/my policy.yaml", Mode: Warn, FailClosed: true, Root: "/snap"}
	s := Script(c)
	for _, want := range []string{
		"#!/bin/sh\n" + marker,
		`bin='/opt/it'\''s/nestvirt'`,
		`guard hook --mode warn --fail-closed --policy '/etc/nestvirt/my policy.yaml' --root '/snap' -- "$@" >&2`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if back, ok := ReadConfig(s); !ok || back != c {
		t.Errorf("recorded %+v, %v", back, ok)
	}
}

// runScript runs an installed hook script as libvirt does: DOMAIN OP SUB EXTRA,
// the domain XML on stdin.
func runScript(t *testing.T, c Config) (code int, stdout, stderr string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hook")
	os.WriteFile(path, []byte(Script(c)), 0o755)
	cmd := exec.Command("sh", path, "g", "prepare", "begin", "-")
	cmd.Stdin = strings.NewReader(plainXML)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// TestTheScriptFailsOpenWhenNestvirtIsBroken: a missing binary (after an upgrade,
// an rm, or `go run`'s deleted build file), a crashing one, or one that prints
// junk must not stop every VM start; only an explicit refusal (exit 1) refuses.
func TestTheScriptFailsOpenWhenNestvirtIsBroken(t *testing.T) {
	dir := t.TempDir()
	fake := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755)
		return p
	}
	tests := []struct {
		name       string
		binary     string
		failClosed bool
		code       int
	}{
		{"a missing binary allows", filepath.Join(dir, "gone"), false, 0},
		{"a missing binary refuses when fail-closed", filepath.Join(dir, "gone"), true, 1},
		{"a crash allows", fake("crash", "kill -SEGV $$"), false, 0},
		{"an error exit allows", fake("err", "echo oops; exit 3"), false, 0},
		{"an explicit refusal refuses", fake("refuse", "exit 1"), false, 1},
		{"an allow allows", fake("allow", "cat >/dev/null; exit 0"), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runScript(t, Config{Binary: tt.binary, Mode: Enforce, FailClosed: tt.failClosed})
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q: libvirt reads it as a domain XML on migration", stdout)
			}
			if tt.code == 0 && tt.binary != "" && !strings.Contains(tt.name, "an allow") && !strings.Contains(stderr, "without judging") {
				t.Errorf("stderr %q does not say the operation went on unjudged", stderr)
			}
		})
	}
}

func TestTheScriptGivesUpOnAHungNestvirt(t *testing.T) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Fatal("coreutils' timeout is needed to bound a hung binary")
	}
	dir := t.TempDir()
	hung := filepath.Join(dir, "hung")
	os.WriteFile(hung, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755)
	start := time.Now()
	code, _, stderr := runScript(t, Config{Binary: hung, Mode: Enforce})
	if code != 0 || time.Since(start) > time.Duration(HookTimeout+5)*time.Second || !strings.Contains(stderr, "exited 124") {
		t.Errorf("exit %d after %s, stderr %q", code, time.Since(start), stderr)
	}
}

func TestInstallRefusesABinaryInATemporaryOrRelativePath(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "nestvirt")
	os.WriteFile(tmp, []byte("#!/bin/sh\n"), 0o755)
	if err := CheckBinary(tmp); err == nil || !strings.Contains(err.Error(), "temporary") {
		t.Errorf("a binary in a temporary directory: %s", err)
	}
	if err := CheckBinary("relative/nestvirt"); err == nil {
		t.Error("a relative path accepted")
	}
}

func TestInstallLeavesNoExecutableTemporaryFileInQemuD(t *testing.T) {
	hooks := t.TempDir()
	os.MkdirAll(filepath.Join(hooks, "qemu.d"), 0o755)
	// A killed install of an earlier nestvirt left these behind.
	os.WriteFile(filepath.Join(hooks, "qemu.d", ".nestvirt-guard.nestvirt-123"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(hooks, ".nestvirt-guard.nestvirt-456"), []byte("#!/bin/sh\n"), 0o600)
	path, err := Install(hooks, Config{Binary: "/usr/bin/nestvirt", Mode: Enforce})
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(hooks, "qemu.d"))
	if len(ents) != 1 || ents[0].Name() != HookName {
		t.Errorf("qemu.d holds %v", ents)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o755 {
		t.Errorf("hook mode %v", st.Mode().Perm())
	}
	if left := Leftovers(hooks); len(left) != 0 {
		t.Errorf("leftovers %v", left)
	}
	if _, removed, err := Uninstall(hooks); err != nil || !removed {
		t.Errorf("uninstall: %v %v", removed, err)
	}
	if _, removed, err := Uninstall(hooks); err != nil || removed {
		t.Errorf("a second uninstall: %v %v, want nothing to do", removed, err)
	}
	os.WriteFile(Path(hooks), []byte("#!/bin/sh\n# someone else's\n"), 0o755)
	if _, err := Install(hooks, Config{Binary: "/usr/bin/nestvirt", Mode: Enforce}); !errors.Is(err, ErrNotOurs) {
		t.Errorf("overwrote someone else's hook: %s", err)
	}
	if _, _, err := Uninstall(hooks); !errors.Is(err, ErrNotOurs) {
		t.Errorf("removed someone else's hook: %s", err)
	}
}

// TestSyslogGivesUpOnAStalledSocket: a journald that stops reading held a VM start
// for over 30 s; a line is now given up after its deadline.
func TestSyslogGivesUpOnAStalledSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	saved := SyslogSockets
	SyslogSockets = []string{sock}
	defer func() { SyslogSockets = saved }()
	// Fill the socket's queue: nobody reads it.
	for i := 0; i < 10000; i++ {
		if Syslog("t", strings.Repeat("x", 1000), 50*time.Millisecond) != nil {
			break
		}
	}
	start := time.Now()
	err = Syslog("nestvirt-guard", "one more line", 200*time.Millisecond)
	if err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
}

// TestWithinGivesUpAndSaysSo: a decision that comes in time is the decision; one
// that does not allows the operation (fail open) or refuses it (fail closed),
// and the log says which and why.
func TestWithinGivesUpAndSaysSo(t *testing.T) {
	in := Input{Domain: "g", Op: "prepare", SubOp: "begin"}
	quick := Within(time.Second, in, func() Decision { return Decision{Allow: false, Log: "refused by a rule"} })
	if quick.Allow || quick.Log != "refused by a rule" {
		t.Errorf("a decision in time: %+v", quick)
	}
	hang := func() Decision { time.Sleep(2 * time.Second); return Decision{} }
	for _, failClosed := range []bool{false, true} {
		in.FailClosed = failClosed
		start := time.Now()
		d := Within(50*time.Millisecond, in, hang)
		if time.Since(start) > time.Second || d.Allow == failClosed || !d.Judged || !strings.Contains(d.Log, "no decision within 50ms") {
			t.Errorf("fail closed %v: %+v after %s", failClosed, d, time.Since(start))
		}
	}
}

// hostileDomains are definitions of up to libvirt's 10 MB that anyone allowed
// to define a domain could write: 2 MiB of nestvirt's own <l2> records (with it
// the guard took over its 2 s budget and failed open on an AMD migration it must
// refuse), 10 MiB of another tool's metadata, 9 MB of devices, a 10 MiB <cpu>.
func hostileDomains() map[string]string {
	head := "<domain type='kvm'><name>g</name><memory>65536</memory><os><type arch='x86_64'>hvm</type></os>"
	var l2, other, devs, cpu strings.Builder
	for l2.Len() < 2<<20 {
		l2.WriteString("<nestvirt:l2>x</nestvirt:l2>")
	}
	for other.Len() < 10<<20-4096 {
		other.WriteString("<o:e/>")
	}
	for i := 0; devs.Len() < 9<<20; i++ {
		devs.WriteString("<controller type='usb' index='" + strconv.Itoa(i) + "' model='none'/>")
	}
	for i := 0; cpu.Len() < 10<<20-4096; i++ {
		cpu.WriteString("<feature policy='require' name='f" + strconv.Itoa(i) + "'/>")
	}
	return map[string]string{
		"2 MiB of nestvirt's own <l2>": head + "<metadata><nestvirt:guest xmlns:nestvirt='https://nestvirt.dev/xmlns/libvirt/1'><nestvirt:runs>kvm</nestvirt:runs>" + l2.String() + "</nestvirt:guest></metadata></domain>",
		"10 MiB of other metadata":     head + "<metadata><o:x xmlns:o='https://example.com/o'>" + other.String() + "</o:x></metadata></domain>",
		"9 MB of devices":              head + "<devices>" + devs.String() + "</devices></domain>",
		"a 10 MiB <cpu>":               head + "<cpu mode='custom'><model>EPYC</model>" + cpu.String() + "</cpu></domain>",
	}
}

// TestTheGuardDecidesInBudgetWhateverTheDefinition: the AMD migration is refused
// within the decision budget for each hostile definition, as for a plain one:
// the refusal rests on facts that are still read.
func TestTheGuardDecidesInBudgetWhateverTheDefinition(t *testing.T) {
	p := policy.Default()
	host := facts(t, "amd-l0-nested")
	for name, xml := range hostileDomains() {
		t.Run(name, func(t *testing.T) {
			in := Input{Domain: "g", Op: "migrate", SubOp: "begin", XML: []byte(xml), Facts: host, Mode: Enforce}
			start := time.Now()
			d := Within(DecisionBudget, in, func() Decision { return Decide(p, in) })
			if d.Allow || d.Rule != "amd-migration" {
				t.Errorf("after %s: %+v", time.Since(start), d)
			}
			t.Logf("%d bytes decided in %s", len(xml), time.Since(start))
		})
	}
}

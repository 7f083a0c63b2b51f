package guard

import (
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

const snapshots = "../probe/testdata/snapshots/"

func facts(name string) probe.Facts {
	return probe.ProbeRoot(probe.NewRoot(snapshots + name + "/root"))
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
		{"huge pages on IBM Z with nesting on are refused at prepare", "s390x-level2", "prepare", hugeXML, Enforce, false, false, true, "s390x-hugepages", "huge-page backing and nesting"},
		{"a guest of a level-2 host is warned about, never blocked", "s390x-level2", "start", plainXML, Enforce, false, true, true, "host-guest-depth", "L3"},
		{"garbage on stdin is allowed by default", "amd-l0-nested", "prepare", "\x00garbage", Enforce, false, true, true, "", ""},
		{"garbage on stdin is refused when fail-closed", "amd-l0-nested", "prepare", "\x00garbage", Enforce, true, false, true, "", "cannot judge"},
		{"unknown operations are not judged", "amd-l0-nested", "frobnicate", plainXML, Enforce, true, true, false, "", ""},
		{"a host whose nested setting cannot be read is not blocked on", "contradictory", "migrate", plainXML, Enforce, false, true, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(p, Input{Domain: "g", Op: tt.op, SubOp: "begin", XML: []byte(tt.xml), Facts: facts(tt.host), Mode: tt.mode, FailClosed: tt.failClosed})
			if d.Allow != tt.allow || d.Judged != tt.judged || d.Rule != tt.rule || !strings.Contains(d.Message, tt.messageWant) {
				t.Errorf("%+v", d)
			}
			if !strings.HasPrefix(d.Log, "nestvirt-guard: domain=\"g\" op="+tt.op) {
				t.Errorf("log line %q", d.Log)
			}
		})
	}
}

func TestScriptPassesArgumentsAndQuotes(t *testing.T) {
	s := Script(Config{Binary: "/opt/it's/nestvirt", Mode: Warn, FailClosed: true, Root: "/snap"})
	if !strings.Contains(s, `exec '/opt/it'\''s/nestvirt' guard hook --mode warn --fail-closed --root '/snap' -- "$@"`) || !strings.HasPrefix(s, "#!/bin/sh\n"+marker) {
		t.Errorf("%s", s)
	}
}

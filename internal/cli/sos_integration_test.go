//go:build integration

package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sosReport generates a real sosreport of this machine with Debian's sos, as
// support would receive it: the plugins that carry what nestvirt reads.
func sosReport(t *testing.T, build bool) string {
	t.Helper()
	bin, err := exec.LookPath("sos")
	if err != nil {
		t.Fatalf("sos is needed (apt-get install sosreport cpuid kmod; scripts/test.sh does): %s", err)
	}
	if os.Geteuid() != 0 {
		t.Fatal("sos report must run as root (as CI does)")
	}
	out := t.TempDir()
	args := []string{"report", "--batch", "-o", "kernel,processor,hardware,kvm,release,host,libvirt,virsh", "--tmp-dir", out}
	if build {
		args = append(args, "--build")
	}
	if b, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("sos report: %v\n%s", err, b)
	}
	pattern := "sosreport-*.tar.*"
	if build {
		pattern = "sosreport-*"
	}
	found, _ := filepath.Glob(filepath.Join(out, pattern))
	for _, f := range found {
		if !strings.HasSuffix(f, ".md5") && !strings.HasSuffix(f, ".sha256") {
			return f
		}
	}
	t.Fatalf("no report in %s", out)
	return ""
}

// TestCheckOfARealSosreportAgreesWithTheLiveCheck: every fact a real sosreport
// of this machine carries is the fact a live check reads; what it does not carry
// is null, never a guess. The directory and the archive read the same.
func TestCheckOfARealSosreportAgreesWithTheLiveCheck(t *testing.T) {
	live, _, _ := nv(t, "", "check", "--format", "json", "--fail-on", "never")
	var lv map[string]any
	json.Unmarshal([]byte(live), &lv)
	for _, build := range []bool{true, false} {
		report := sosReport(t, build)
		out, stderr, code := nv(t, "", "check", "--sos", report, "--format", "json", "--fail-on", "never")
		if code != ExitOK {
			t.Fatalf("check --sos %s: %d %s", report, code, stderr)
		}
		var sv map[string]any
		json.Unmarshal([]byte(out), &sv)
		compared := 0
		var walk func(a, b any, path string)
		walk = func(a, b any, path string) {
			switch x := a.(type) {
			case map[string]any:
				bm, _ := b.(map[string]any)
				for k, v := range x {
					if k == "notes" || k == "evidence" || k == "config" || k == "from" {
						continue
					}
					walk(v, bm[k], path+"."+k)
				}
			case nil:
			default:
				compared++
				if jsonOf(a) != jsonOf(b) {
					t.Errorf("%s: the sosreport says %v, the live check %v", path, a, b)
				}
			}
		}
		walk(sv["host"], lv["host"], "host")
		if compared < 15 {
			t.Errorf("only %d facts carried by the report:\n%s", compared, out)
		}
		host := sv["host"].(map[string]any)
		if kvm := host["kvm"].(map[string]any); kvm["accessible"] != nil || kvm["device"] != nil {
			t.Errorf("a report cannot know /dev/kvm's access: %v", kvm)
		}
		if !strings.Contains(out, "read from the sosreport") {
			t.Errorf("the report is not named in the notes")
		}
		t.Logf("%s: %d facts agree", filepath.Base(report), compared)
	}
}

// TestOSListIncludesTheSystemsOsinfoDB: with osinfo-db installed (as on every
// libvirt host), os list names its short ids too, marked as coming from it.
func TestOSListIncludesTheSystemsOsinfoDB(t *testing.T) {
	out, _, code := nv(t, "", "os", "list")
	if code != ExitOK || !strings.Contains(out, "osinfo-db") {
		t.Errorf("os list names nothing from osinfo-db: %d\n%.2000s", code, out)
	}
}

package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// run calls Main as the binary would, with stdin.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file; got:\n%s", name, got)
	}
}

const examples = "../../examples"

func TestPlanExamplesMatchGoldenOutput(t *testing.T) {
	ents, err := os.ReadDir(examples)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		file := filepath.Join(examples, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			text, _, _ := run(t, "", "plan", "--fail-on", "does-not-work", file)
			golden(t, e.Name()+".txt", text)
			js, stderr, code := run(t, "", "plan", "--format", "json", "--fail-on", "does-not-work", file)
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			golden(t, e.Name()+".json", js)
			var doc struct {
				Verdict string `json:"verdict"`
				Chains  []struct {
					Path     []string `json:"path"`
					Verdict  string   `json:"verdict"`
					Findings []map[string]any
				} `json:"chains"`
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Verdict == "" || len(doc.Chains) == 0 {
				t.Errorf("json lacks verdict or chains: %s", js)
			}
			for _, c := range doc.Chains {
				for _, f := range c.Findings {
					for _, k := range []string{"rule", "level", "message", "source", "remedy"} {
						if _, ok := f[k]; !ok {
							t.Errorf("finding lacks %q: %v", k, f)
						}
					}
				}
			}
			if (doc.Verdict == "does-not-work") != (code == ExitFindings) {
				t.Errorf("verdict %s with --fail-on does-not-work exited %d", doc.Verdict, code)
			}
		})
	}
}

func TestPlanSeveralFilesNamesEachTopology(t *testing.T) {
	out, _, code := run(t, "", "plan", "--format", "json", examples)
	var doc struct {
		Verdict    string `json:"verdict"`
		Topologies []struct {
			File, Name, Verdict string
			Chains              []any
		} `json:"topologies"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Verdict != "does-not-work" || code != ExitFindings {
		t.Errorf("verdict %s, exit %d", doc.Verdict, code)
	}
	if len(doc.Topologies) < 6 {
		t.Fatalf("%d topologies", len(doc.Topologies))
	}
	for _, tp := range doc.Topologies {
		if tp.File == "" || tp.Verdict == "" || len(tp.Chains) == 0 {
			t.Errorf("incomplete topology result %+v", tp)
		}
	}
}

func TestFailOnSetsTheExitCode(t *testing.T) {
	wsl := filepath.Join(examples, "wsl2-supported.yaml")
	lab := filepath.Join(examples, "rhel-lab-tech-preview.yaml")
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"plan", wsl}, ExitOK},
		{[]string{"plan", "--fail-on", "supported", wsl}, ExitFindings},
		{[]string{"plan", lab}, ExitFindings}, // unsupported chain, default --fail-on unsupported
		{[]string{"plan", "--fail-on", "untested", lab}, ExitOK},
		{[]string{"plan", "--fail-on", "tech-prevew", wsl}, ExitInput},
		{[]string{"plan", "--format", "yaml", wsl}, ExitInput},
		{[]string{"plan"}, ExitInput},
		{[]string{"plan", "--no-such-flag", wsl}, ExitInput},
		{[]string{"plan", "missing.yaml"}, ExitInput},
		{[]string{"frobnicate"}, ExitInput},
	}
	for _, tt := range tests {
		_, stderr, code := run(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, stderr)
		}
		if tt.code == ExitInput && !strings.HasPrefix(stderr, "nestvirt: error: ") {
			t.Errorf("%v: stderr %q", tt.args, stderr)
		}
	}
}

func TestPlanReadsStdin(t *testing.T) {
	out, _, code := run(t, "host: {os: rhel10.0, guests: [{name: w, os: win11, hypervisor: wsl2, guests: [{name: u, os: ubuntu24.04}]}]}", "plan", "--format", "json", "-")
	if code != ExitOK || !strings.Contains(out, `"verdict": "supported"`) {
		t.Errorf("exit %d: %s", code, out)
	}
	_, stderr, code := run(t, "host: {os: rhel10.0, nme: x}", "plan", "-")
	if code != ExitInput || !strings.Contains(stderr, `<stdin>:1:22: host.nme: unknown key "nme"`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

func TestBadInputAmongGoodFilesJudgesNothing(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(filepath.Join(examples, "wsl2-supported.yaml"))
	os.WriteFile(filepath.Join(dir, "a.yaml"), good, 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("host:\n  os: rhel10.0\n  guests: [{name: x, os: win2k91}]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("host: {arch: arm}\n"), 0o644)
	out, stderr, code := run(t, "", "plan", dir)
	if code != ExitInput || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{"b.yaml:3:26: host.guests[0].os: unknown OS \"win2k91\"", "c.yaml:1:14: host.arch: unknown value \"arm\"", "c.yaml:1:7: host.os: missing"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestMatrixMatchesGoldenOutput(t *testing.T) {
	out, _, code := run(t, "", "matrix")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	golden(t, "matrix.txt", out)
}

// The rules are data: a policy file changed the way Red Hat might change the page
// changes the verdict, with no code change.
func TestAnotherPolicyFileChangesTheVerdict(t *testing.T) {
	data, err := os.ReadFile("../../policies/rhel-10.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "- {os: rhel>=9.6, runs: kvm}", "- {os: rhel>=9.4, runs: kvm}", 1)
	changed = strings.Replace(changed, "- {os: rhel>=9.6}", "- {os: rhel>=9.4}", 1)
	if changed == string(data) {
		t.Fatal("policy text changed shape; update this test")
	}
	path := filepath.Join(t.TempDir(), "rhel-10-next.yaml")
	os.WriteFile(path, []byte(changed), 0o644)
	topo := "host: {os: rhel10.0, guests: [{name: a, os: rhel9.5, guests: [{name: b, os: rhel9.5}]}]}"
	before, _, _ := run(t, topo, "plan", "--format", "json", "-")
	after, stderr, _ := run(t, topo, "--policy", path, "plan", "--format", "json", "-")
	if !strings.Contains(before, `"verdict": "unsupported"`) || !strings.Contains(after, `"verdict": "tech-preview"`) {
		t.Errorf("before:\n%s\nafter:\n%s\n%s", before, after, stderr)
	}
	_, stderr, code := run(t, "", "--policy", "testdata/no-such-policy.yaml", "matrix")
	if code != ExitInput || !strings.Contains(stderr, "no-such-policy.yaml") {
		t.Errorf("missing policy: exit %d %s", code, stderr)
	}
}

func TestPolicyLint(t *testing.T) {
	out, _, code := run(t, "", "policy", "lint")
	if code != ExitOK || !strings.Contains(out, "policies/rhel-10.yaml: ok") {
		t.Errorf("embedded: exit %d %s", code, out)
	}
	_, stderr, code := run(t, "", "policy", "lint", "../policy/testdata/broken.yaml")
	if code != ExitInput || strings.Count(stderr, "nestvirt: error: ") < 12 || !strings.Contains(stderr, `rules[3].level: unknown level "tech-prevew"`) {
		t.Errorf("broken: exit %d\n%s", code, stderr)
	}
	shown, _, code := run(t, "", "policy", "show")
	if code != ExitOK || !strings.Contains(shown, "policy: rhel-10") {
		t.Errorf("show: exit %d", code)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	out, _, code := run(t, "", "version")
	if code != ExitOK || !strings.HasPrefix(out, "nestvirt ") || !strings.Contains(out, "policy rhel-10") {
		t.Errorf("version: %d %q", code, out)
	}
	out, _, code = run(t, "", "completion", "bash")
	if code != ExitOK || !strings.Contains(out, "bash completion") {
		t.Errorf("completion: %d", code)
	}
}

func TestCheckReplaysASnapshot(t *testing.T) {
	root := "../probe/testdata/snapshots/amd-l0-nested/root"
	out, stderr, code := run(t, "", "check", "--root", root)
	if code != ExitFindings {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	golden(t, "check-amd-l0-nested.txt", out)
	js, _, _ := run(t, "", "check", "--root", root, "--format", "json")
	golden(t, "check-amd-l0-nested.json", js)
	quiet, _, _ := run(t, "", "check", "-q", "--root", root)
	if !strings.HasPrefix(quiet, "does-not-work host-amd-migration: ") || strings.Contains(quiet, "host-l0-ready") || strings.Contains(quiet, "CPU") {
		t.Errorf("-q printed:\n%s", quiet)
	}
	ready, _, code := run(t, "", "check", "-q", "--root", "../probe/testdata/snapshots/intel-l0-ready/root")
	if ready != "" || code != ExitOK {
		t.Errorf("-q on a ready host: exit %d, %q", code, ready)
	}
	_, stderr, code = run(t, "", "check", "--root", "no/such/dir")
	if code != ExitInput || !strings.Contains(stderr, "--root no/such/dir: not a directory") {
		t.Errorf("bad root: %d %s", code, stderr)
	}
}

// A snapshot of this machine, replayed, gives the same facts and findings as the
// live check: the snapshot holds everything check reads.
func TestSnapshotOfThisMachineReplaysExactly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	out, stderr, code := run(t, "", "snapshot", dir)
	if code != ExitOK || !strings.Contains(out, "snapshot written") {
		t.Fatalf("snapshot: exit %d %s %s", code, out, stderr)
	}
	live, _, _ := run(t, "", "check", "--format", "json")
	replay, _, _ := run(t, "", "check", "--format", "json", "--root", dir)
	var a, b map[string]any
	if err := json.Unmarshal([]byte(live), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(replay), &b); err != nil {
		t.Fatal(err)
	}
	// Only the live check can open /dev/kvm, and notes about what it could not read
	// differ; everything else must be equal.
	for _, m := range []map[string]any{a, b} {
		host := m["host"].(map[string]any)
		delete(host["kvm"].(map[string]any), "accessible")
		delete(host, "notes")
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("live and replay differ:\nlive   %s\nreplay %s", ja, jb)
	}
	if _, err := os.Stat(filepath.Join(dir, "cpuid.txt")); err != nil {
		t.Error("no cpuid.txt in the snapshot")
	}
	_, stderr, code = run(t, "", "snapshot", dir)
	if code != ExitInput || !strings.Contains(stderr, "not empty") {
		t.Errorf("second snapshot into the same dir: %d %s", code, stderr)
	}
}

func TestColoursOnlyWhenAskedOrOnATerminal(t *testing.T) {
	file := filepath.Join(examples, "ci-runners-amd-migration.yaml")
	plain, _, _ := run(t, "", "plan", file)
	if strings.Contains(plain, "\x1b[") {
		t.Error("colour codes written to a pipe")
	}
	coloured, _, _ := run(t, "", "--color", "always", "plan", file)
	if !strings.Contains(coloured, "\x1b[1m\x1b[31mdoes-not-work\x1b[0m") {
		t.Errorf("--color always: %q", coloured[:200])
	}
	if _, stderr, code := run(t, "", "--color", "sometimes", "plan", file); code != ExitInput || !strings.Contains(stderr, "--color") {
		t.Errorf("bad --color: %d %s", code, stderr)
	}
}

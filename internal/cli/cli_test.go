package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nestvirt/nestvirt/schema/schematest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// nv calls Main as the binary would, with stdin, in a UTF-8 locale.
func nv(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return nvEnv(t, map[string]string{"LANG": "C.UTF-8"}, stdin, args...)
}

// nvEnv is nv with an environment of its own.
func nvEnv(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return nvApp(t, &app{getenv: func(k string) string { return env[k] }}, stdin, args...)
}

// nvApp runs a, an app with its environment (and in some tests its libvirt
// dialer) set, on stdin and args.
func nvApp(t *testing.T, a *app, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	a.stdin, a.stdout, a.stderr = strings.NewReader(stdin), &out, &errb
	root := a.rootCmd()
	root.SetArgs(args)
	code = mainWith(a, root)
	validateJSON(t, args, out.String(), code)
	return out.String(), errb.String(), code
}

// validateJSON holds every JSON document a test makes nestvirt print to its
// schema, with a real validator: the contract is checked wherever JSON appears.
func validateJSON(t *testing.T, args []string, out string, code int) {
	t.Helper()
	if len(args) == 0 || !slices.Contains(args, "json") {
		return
	}
	name := args[0]
	if name == "--policy" && len(args) > 2 {
		name = args[2]
	}
	switch name {
	case "check", "plan", "vms", "matrix":
	default:
		return
	}
	// Wherever the document went: standard output, or the --output file.
	for i, a := range args {
		if (a == "--output" || a == "-o") && i+1 < len(args) {
			b, err := os.ReadFile(args[i+1])
			if err != nil {
				if code == ExitOK || code == ExitFindings {
					t.Errorf("%v: exit %d, and no --output file: %v", args, code, err)
				}
				return
			}
			out = string(b)
		}
	}
	if out == "" && code == ExitInput {
		return // refused before any document (a flag nestvirt cannot render in)
	}
	if err := schematest.Validate(name, []byte(out)); err != nil {
		t.Errorf("%v: the JSON does not hold to the %s schema: %v\n%s", args, name, err, out)
	}
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
const snapshots = "../probe/testdata/snapshots/"

func TestPlanExamplesMatchGoldenOutput(t *testing.T) {
	ents, err := os.ReadDir(examples)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		file := filepath.Join(examples, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			text, _, _ := nv(t, "", "plan", "--fail-on", "does-not-work", file)
			golden(t, e.Name()+".txt", text)
			js, stderr, code := nv(t, "", "plan", "--format", "json", "--fail-on", "does-not-work", file)
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			golden(t, e.Name()+".json", js)
			var doc struct {
				Schema     string `json:"schema"`
				Verdict    string `json:"verdict"`
				Topologies []struct {
					Chains []struct {
						Findings []map[string]any
					} `json:"chains"`
				} `json:"topologies"`
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema == "" || doc.Verdict == "" || len(doc.Topologies) != 1 || len(doc.Topologies[0].Chains) == 0 {
				t.Errorf("json lacks schema, verdict or chains: %s", js)
			}
			if (doc.Verdict == "does-not-work") != (code == ExitFindings) {
				t.Errorf("verdict %s with --fail-on does-not-work exited %d", doc.Verdict, code)
			}
		})
	}
}

func TestPlanJSONHasOneShapeWhateverTheNumberOfFiles(t *testing.T) {
	one, _, _ := nv(t, "", "plan", "--format", "json", filepath.Join(examples, "wsl2-supported.yaml"))
	many, _, code := nv(t, "", "plan", "--format", "json", examples)
	for _, js := range []string{one, many} {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(js), &doc); err != nil {
			t.Fatal(err)
		}
		if _, ok := doc["topologies"]; !ok || len(doc) != 4 {
			t.Errorf("keys %v", keys(doc))
		}
	}
	var doc struct {
		Verdict    string `json:"verdict"`
		Topologies []struct {
			File, Name, Verdict string
			Chains              []any
		} `json:"topologies"`
	}
	json.Unmarshal([]byte(many), &doc)
	if doc.Verdict != "does-not-work" || code != ExitFindings || len(doc.Topologies) < 6 {
		t.Errorf("verdict %s, exit %d, %d topologies", doc.Verdict, code, len(doc.Topologies))
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
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
		{[]string{"plan", "--fail-on", "never", lab}, ExitOK},
		{[]string{"plan", "--fail-on", "tech-prevew", wsl}, ExitInput},
		{[]string{"plan", "--format", "yaml", wsl}, ExitInput},
		{[]string{"plan"}, ExitInput},
		{[]string{"plan", "--no-such-flag", wsl}, ExitInput},
		{[]string{"plan", "missing.yaml"}, ExitInput},
		{[]string{"frobnicate"}, ExitInput},
		{[]string{"vms", "extra"}, ExitInput},
	}
	for _, tt := range tests {
		_, stderr, code := nv(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, stderr)
		}
		if tt.code == ExitInput && !strings.HasPrefix(stderr, "nestvirt: error: ") {
			t.Errorf("%v: stderr %q", tt.args, stderr)
		}
	}
}

func TestPlanReadsStdin(t *testing.T) {
	out, _, code := nv(t, "host: {os: rhel10.0, guests: [{name: w, os: win11, hypervisor: wsl2, guests: [{name: u, os: ubuntu24.04}]}]}", "plan", "--format", "json", "-")
	if code != ExitOK || !strings.Contains(out, `"verdict": "supported"`) {
		t.Errorf("exit %d: %s", code, out)
	}
	_, stderr, code := nv(t, "host: {os: rhel10.0, nme: x}", "plan", "-")
	if code != ExitInput || !strings.Contains(stderr, `<stdin>:1:22: host.nme: unknown key "nme"`) {
		t.Errorf("exit %d: %s", code, stderr)
	}
	_, stderr, code = nv(t, "", "plan")
	if code != ExitInput || !strings.Contains(stderr, "nestvirt plan - < lab.yaml") {
		t.Errorf("plan with no argument: %d %s", code, stderr)
	}
}

// TestEveryGoodFileIsJudgedAndEveryBadOneReported: one bad file used to hide all
// the others; now each good one is judged, each bad one reported with its
// positions (in JSON too), and the run exits 2 at the end.
func TestEveryGoodFileIsJudgedAndEveryBadOneReported(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(filepath.Join(examples, "wsl2-supported.yaml"))
	os.WriteFile(filepath.Join(dir, "a.yaml"), good, 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("host:\n  os: rhel10.0\n  guests: [{name: x, os: win2k91}]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("host: {arch: arm}\n"), 0o644)
	out, stderr, code := nv(t, "", "plan", dir)
	if code != ExitInput || !strings.Contains(out, "a.yaml (wsl2-workstation): supported") || !strings.Contains(out, "b.yaml: not judged") {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	for _, want := range []string{"b.yaml:3:26: host.guests[0].os: unknown OS \"win2k91\"", "c.yaml:1:14: host.arch: unknown value \"arm\"", "c.yaml:1:7: host.os: missing", "2 of 3 files could not be judged"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	js, _, code := nv(t, "", "plan", "--format", "json", dir)
	var doc struct {
		Verdict    *string `json:"verdict"`
		Topologies []struct {
			File    string  `json:"file"`
			Verdict *string `json:"verdict"`
			Error   *struct {
				Problems []struct {
					Line, Column int
					Path         string
				} `json:"problems"`
			} `json:"error"`
		} `json:"topologies"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	if code != ExitInput || len(doc.Topologies) != 3 || doc.Topologies[0].Verdict == nil || doc.Topologies[1].Error == nil || doc.Topologies[1].Error.Problems[0].Line != 3 || doc.Topologies[1].Verdict != nil {
		t.Errorf("exit %d: %s", code, js)
	}
}

func TestPlanSaysWhatADirectoryHeldThatItSkipped(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(filepath.Join(examples, "wsl2-supported.yaml"))
	os.WriteFile(filepath.Join(dir, "A.YAML"), good, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "b.yaml"), good, 0o644)
	out, stderr, code := nv(t, "", "plan", dir)
	if code != ExitOK || !strings.Contains(stderr, "skipped "+filepath.Join(dir, "sub")+"/ (a directory: --recursive reads it)") || !strings.Contains(stderr, "notes.txt") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(out, "1 file: 1 supported; verdict supported") {
		t.Errorf("a directory of one file gets a summary line too:\n%s", out)
	}
	out, _, _ = nv(t, "", "plan", "-r", dir)
	if !strings.Contains(out, "2 files: 2 supported") {
		t.Errorf("--recursive:\n%s", out)
	}
}

func TestPlanQuietPrintsOnlyWhatNeedsAction(t *testing.T) {
	out, _, _ := nv(t, "", "plan", "-q", filepath.Join(examples, "wsl2-supported.yaml"))
	if out != "" {
		t.Errorf("-q on a supported file printed %q", out)
	}
	out, _, _ = nv(t, "", "plan", "-q", filepath.Join(examples, "ci-runners-amd-migration.yaml"))
	if !strings.Contains(out, "does-not-work amd-migration:") || strings.Contains(out, "source") {
		t.Errorf("-q:\n%s", out)
	}
}

func TestSourcesAreQuotedOncePerRun(t *testing.T) {
	out, _, _ := nv(t, "", "plan", examples)
	quote := "Migrating VMs currently does not work on AMD systems"
	if n := strings.Count(out, quote); n != 1 {
		t.Errorf("the AMD migration quote appears %d times, want once", n)
	}
	if !strings.Contains(out, "Sources\n  [") || !strings.Contains(out, "source [") {
		t.Errorf("no numbered sources:\n%s", out)
	}
}

func TestMatrixMatchesGoldenOutput(t *testing.T) {
	out, _, code := nv(t, "", "matrix")
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
	before, _, _ := nv(t, topo, "plan", "--format", "json", "-")
	after, stderr, _ := nv(t, topo, "--policy", path, "plan", "--format", "json", "-")
	if !strings.Contains(before, `"verdict": "unsupported"`) || !strings.Contains(after, `"verdict": "tech-preview"`) {
		t.Errorf("before:\n%s\nafter:\n%s\n%s", before, after, stderr)
	}
	_, stderr, code := nv(t, "", "--policy", "testdata/no-such-policy.yaml", "matrix")
	if code != ExitInput || !strings.Contains(stderr, "no-such-policy.yaml") {
		t.Errorf("missing policy: exit %d %s", code, stderr)
	}
}

func TestPolicyLint(t *testing.T) {
	out, _, code := nv(t, "", "policy", "lint")
	if code != ExitOK || !strings.Contains(out, "policies/rhel-10.yaml: ok") {
		t.Errorf("embedded: exit %d %s", code, out)
	}
	_, stderr, code := nv(t, "", "policy", "lint", "../policy/testdata/broken.yaml")
	if code != ExitInput || strings.Count(stderr, "nestvirt: error: ") < 12 || !strings.Contains(stderr, `rules[3].level: unknown level "tech-prevew"`) || !strings.Contains(stderr, "undefined field 'nestd'") {
		t.Errorf("broken: exit %d\n%s", code, stderr)
	}
	shown, _, code := nv(t, "", "policy", "show")
	if code != ExitOK || !strings.Contains(shown, "policy: rhel-10") {
		t.Errorf("show: exit %d", code)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	out, _, code := nv(t, "", "version")
	if code != ExitOK || !strings.HasPrefix(out, "nestvirt ") || !strings.Contains(out, "policy rhel-10") {
		t.Errorf("version: %d %q", code, out)
	}
	short, _, code := nv(t, "", "--version")
	if first, _, _ := strings.Cut(out, "\n"); code != ExitOK || short != first+"\n" {
		t.Errorf("--version %q is not version's first line %q", short, first)
	}
	out, _, code = nv(t, "", "completion", "bash")
	if code != ExitOK || !strings.Contains(out, "bash completion") {
		t.Errorf("completion: %d", code)
	}
}

func TestOSListShowsTheNamesNestvirtKnows(t *testing.T) {
	out, _, code := nv(t, "", "os", "list")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	// osinfo-db's own names are listed too where it is installed (the
	// integration tests install it).
	for _, want := range []string{"NAME", "rhel10.0", "win2k22", "windows-server", "linux2022", "generic"} {
		if !strings.Contains(out, want) {
			t.Errorf("os list lacks %q", want)
		}
	}
	_, stderr, code := nv(t, "host: {os: rhel10.0, guests: [{name: a, os: rhel10.O}]}", "plan", "-")
	if code != ExitInput || !strings.Contains(stderr, `did you mean "rhel10.0"?`) {
		t.Errorf("a misspelt OS: %d %s", code, stderr)
	}
}

func TestCheckReplaysASnapshot(t *testing.T) {
	root := snapshots + "amd-l0-nested/root"
	out, stderr, code := nv(t, "", "check", "--root", root)
	if code != ExitOK {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	golden(t, "check-amd-l0-nested.txt", out)
	if !strings.Contains(out, "This machine: supported\n  live migration: does-not-work if this host live-migrates its VMs") {
		t.Errorf("the headline must name the nesting verdict and the migration limitation apart:\n%s", out)
	}
	js, _, _ := nv(t, "", "check", "--root", root, "--format", "json")
	golden(t, "check-amd-l0-nested.json", js)
	migrates, _, code := nv(t, "", "check", "-q", "--root", root, "--migrates", "yes")
	if code != ExitFindings || !strings.HasPrefix(migrates, "This machine: does-not-work\n  does-not-work host-amd-migration: ") || strings.Contains(migrates, "CPU") {
		t.Errorf("-q --migrates yes: %d\n%s", code, migrates)
	}
	ready, _, code := nv(t, "", "check", "-q", "--root", snapshots+"intel-l0-ready/root")
	if ready != "This machine: supported\n" || code != ExitOK {
		t.Errorf("-q on a ready host: exit %d, %q", code, ready)
	}
	for _, bad := range []struct{ args []string }{
		{[]string{"check", "--root", "no/such/dir"}},
		{[]string{"check", "--root", t.TempDir()}},
		{[]string{"check", "--root", root, "--migrates", "sometimes"}},
		{[]string{"check", "--root", root, "--l0-os", "rhel99x"}},
	} {
		if _, stderr, code := nv(t, "", bad.args...); code != ExitInput || !strings.HasPrefix(stderr, "nestvirt: error: ") {
			t.Errorf("%v: %d %s", bad.args, code, stderr)
		}
	}
}

func TestCheckOfAnL1SaysWhatItCannotSee(t *testing.T) {
	root := snapshots + "rhel96-l1-on-kvm/root"
	out, _, code := nv(t, "", "check", "--root", root)
	if code != ExitFindings || !strings.Contains(out, "This machine: unsupported") || !strings.Contains(out, "could be tech-preview (host-l1-on-kvm) if the L0 below runs RHEL 10.0") || !strings.Contains(out, "level      ≥ 1") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, _, code = nv(t, "", "check", "--root", root, "--l0-os", "rhel10.0")
	if code != ExitOK || !strings.HasPrefix(out, "This machine: tech-preview\n") {
		t.Errorf("with the L0 stated: %d\n%s", code, out)
	}
	dir := copyTree(t, "rhel96-l1-on-kvm")
	os.MkdirAll(filepath.Join(dir, "etc/nestvirt"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc/nestvirt/host.yaml"), []byte("l0:\n  os: rhel10.0\n"), 0o644)
	if out, _, code := nv(t, "", "check", "--root", dir); code != ExitOK || !strings.HasPrefix(out, "This machine: tech-preview\n") {
		t.Errorf("with host.yaml: %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "etc/nestvirt/host.yaml"), []byte("l0:\n  os: rhel10.0\nmigrate: yes\n"), 0o644)
	if _, stderr, code := nv(t, "", "check", "--root", dir); code != ExitInput || !strings.Contains(stderr, `host.yaml:3:1: migrate: unknown key "migrate"; did you mean "migration"?`) {
		t.Errorf("a bad host.yaml: %d %s", code, stderr)
	}
}

// A snapshot of this machine, replayed, gives the same facts and findings as the
// live check: the snapshot holds everything check reads.
func TestSnapshotOfThisMachineReplaysExactly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	out, stderr, code := nv(t, "", "snapshot", dir)
	if code != ExitOK || !strings.Contains(out, "snapshot written") {
		t.Fatalf("snapshot: exit %d %s %s", code, out, stderr)
	}
	if !strings.Contains(stderr, "proc/1/cmdline (only the program (argv[0]))") || !strings.Contains(stderr, "etc/machine-id (only nestvirt's ID derived from it") {
		t.Errorf("the snapshot does not say what it filtered: %s", stderr)
	}
	live, _, _ := nv(t, "", "check", "--format", "json")
	replay, _, _ := nv(t, "", "check", "--format", "json", "--root", dir)
	if d := diffFacts(t, live, replay); d != "" {
		t.Errorf("live and replay differ:\n%s", d)
	}
	for _, f := range []string{"cpuid.txt", "nestvirt-snapshot.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("no %s in the snapshot", f)
		}
	}
	_, stderr, code = nv(t, "", "snapshot", dir)
	if code != ExitInput || !strings.Contains(stderr, "not empty") {
		t.Errorf("second snapshot into the same dir: %d %s", code, stderr)
	}
	// One tar to attach: the same files, replayed the same way.
	tarOut, _, code := nv(t, "", "snapshot", "--tar", "-")
	if code != ExitOK {
		t.Fatalf("--tar -: %d", code)
	}
	extracted := t.TempDir()
	tr := tar.NewReader(strings.NewReader(tarOut))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(extracted, h.Name)
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		b, _ := io.ReadAll(tr)
		os.WriteFile(p, b, os.FileMode(h.Mode))
	}
	fromTar, _, _ := nv(t, "", "check", "--format", "json", "--root", extracted)
	if d := diffFacts(t, live, fromTar); d != "" {
		t.Errorf("live and the tar differ:\n%s", d)
	}
	// A tar file is not more readable than the files it holds.
	tarFile := filepath.Join(t.TempDir(), "snap.tar")
	if _, stderr, code := nv(t, "", "snapshot", "--tar", tarFile); code != ExitOK {
		t.Fatalf("--tar FILE: %d %s", code, stderr)
	}
	if fi, err := os.Stat(tarFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the tar file: %v %v, want mode 0600", fi.Mode(), err)
	}
	// --root reads the tar snapshot --tar writes (it said "not a directory"),
	// plain or compressed, as the extracted tree.
	direct, stderr, code := nv(t, "", "check", "--format", "json", "--root", tarFile)
	if code == ExitInput || code == ExitDependency {
		t.Fatalf("check --root %s: exit %d %s", tarFile, code, stderr)
	}
	if d := diffFacts(t, fromTar, direct); d != "" {
		t.Errorf("the tar read directly and extracted differ:\n%s", d)
	}
	gzFile := tarFile + ".gz"
	raw, _ := os.ReadFile(tarFile)
	var gzb bytes.Buffer
	zw := gzip.NewWriter(&gzb)
	zw.Write(raw)
	zw.Close()
	os.WriteFile(gzFile, gzb.Bytes(), 0o600)
	if compressed, stderr, _ := nv(t, "", "check", "--format", "json", "--root", gzFile); diffFacts(t, fromTar, compressed) != "" {
		t.Errorf("the gzipped tar: %s\n%s", stderr, diffFacts(t, fromTar, compressed))
	}
	// A file that is no tar is bad input, said as such.
	junk := filepath.Join(t.TempDir(), "junk.tar")
	os.WriteFile(junk, []byte("not a tar at all, only text\n"), 0o600)
	if _, stderr, code := nv(t, "", "check", "--root", junk); code != ExitInput || !strings.Contains(stderr, "not a tar archive") {
		t.Errorf("a file that is no tar: exit %d %s", code, stderr)
	}
}

// diffFacts compares two check documents, leaving out what only a live check can
// know (whether /dev/kvm opens) and the notes about what could not be read.
func diffFacts(t *testing.T, a, b string) string {
	t.Helper()
	var ma, mb map[string]any
	if err := json.Unmarshal([]byte(a), &ma); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &mb); err != nil {
		t.Fatal(err)
	}
	if o, ok := mb["origin"].(map[string]any); !ok || o["kind"] != "snapshot" || mb["checked_at"] == nil {
		t.Errorf("a replay's origin %v, checked at %v", mb["origin"], mb["checked_at"])
	}
	for _, m := range []map[string]any{ma, mb} {
		// Where and when differ by nature, and so what nestvirt could change
		// there (a machine, a tree, an archive): the machine does not.
		delete(m, "origin")
		delete(m, "checked_at")
		delete(m, "actions")
		host := m["host"].(map[string]any)
		delete(host["kvm"].(map[string]any), "accessible")
		delete(host, "notes")
	}
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	if string(ja) == string(jb) {
		return ""
	}
	return "live   " + string(ja) + "\nreplay " + string(jb)
}

func TestColoursOnlyWhenAskedOrOnATerminal(t *testing.T) {
	file := filepath.Join(examples, "ci-runners-amd-migration.yaml")
	plain, _, _ := nv(t, "", "plan", file)
	if strings.Contains(plain, "\x1b[") {
		t.Error("colour codes written to a pipe")
	}
	coloured, _, _ := nv(t, "", "--color", "always", "plan", file)
	if !strings.Contains(coloured, "\x1b[1m\x1b[31mdoes-not-work\x1b[0m") {
		t.Errorf("--color always: %q", coloured[:200])
	}
	if _, stderr, code := nv(t, "", "--color", "sometimes", "plan", file); code != ExitInput || !strings.Contains(stderr, "--color") {
		t.Errorf("bad --color: %d %s", code, stderr)
	}
}

func TestTheCLocaleGetsASCII(t *testing.T) {
	file := filepath.Join(examples, "wsl2-supported.yaml")
	out, _, _ := nvEnv(t, map[string]string{"LANG": "C"}, "", "plan", file)
	if strings.ContainsAny(out, "→›·≥") || !strings.Contains(out, " -> ") {
		t.Errorf("non-ASCII under LANG=C:\n%s", out)
	}
	m, _, _ := nvEnv(t, map[string]string{"LC_ALL": "C"}, "", "matrix")
	for _, r := range m {
		if r > 127 {
			t.Errorf("matrix under LC_ALL=C holds %q", r)
			break
		}
	}
}

func TestCobraSuggestionsAreOneHint(t *testing.T) {
	_, stderr, code := nv(t, "", "chek")
	if code != ExitInput || !strings.Contains(stderr, "nestvirt: hint: did you mean check?") || strings.Contains(stderr, "nestvirt: error: \n") || strings.Contains(stderr, "error: \t") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
}

// Windows L1s, as Windows snapshots (registry export, CIM, wsl --status): the
// supported case, Windows Server 2019 (build 17763, WSL 1 only), a Windows 11
// whose L0 hides VT-x, and what Wine shows.
func TestCheckWindows(t *testing.T) {
	for _, c := range []struct {
		snap string
		args []string
		code int
		head string
	}{
		{"win10-l1-wsl2", []string{"--l0-os", "rhel10.0"}, ExitOK, "This machine: supported\n"},
		{"win10-l1-wsl2", nil, ExitFindings, "This machine: unsupported\n"},
		{"win10-l1-wsl2", []string{"--l0-os", "ubuntu24.04"}, ExitFindings, "This machine: unsupported\n"},
		{"ws2019-wsl1", []string{"--l0-os", "rhel10.0"}, ExitFindings, "This machine: does-not-work\n"},
		{"win11-not-exposed", []string{"--l0-os", "rhel10.0"}, ExitFindings, "This machine: does-not-work\n"},
		{"wine", nil, ExitFindings, "This machine: does-not-work\n"},
	} {
		name := c.snap + strings.Join(c.args, "")
		args := append([]string{"check", "--root", snapshots + c.snap + "/root"}, c.args...)
		out, stderr, code := nv(t, "", args...)
		if code != c.code || !strings.HasPrefix(out, c.head) {
			t.Errorf("%s: exit %d, want %d; stderr %s\n%s", name, code, c.code, stderr, out)
		}
		if c.args == nil && c.snap == "win10-l1-wsl2" && !strings.Contains(out, "could be supported (win-l1-supported) if the L0 below runs RHEL 10.0") {
			t.Errorf("without the L0's OS, the headline must say what it would take:\n%s", out)
		}
		if len(c.args) == 2 && c.args[1] == "rhel10.0" || c.snap == "wine" {
			golden(t, "check-"+c.snap+".txt", out)
			js, _, _ := nv(t, "", append(args, "--format", "json")...)
			golden(t, "check-"+c.snap+".json", js)
		}
	}
}

// TestPlanTextNumbersSourcesInOrder: a plan of many files names each source by
// the number of its first use, in the order of the output, the same every run
// (the numbers once went to sources in the order workers finished).
func TestPlanTextNumbersSourcesInOrder(t *testing.T) {
	ref := regexp.MustCompile(`\[([0-9]+)\]`)
	first, _, _ := nv(t, "", "plan", "../../examples/")
	for run := 0; run < 5; run++ {
		out, _, _ := nv(t, "", "plan", "../../examples/")
		body, _, _ := strings.Cut(out, "\nSources\n")
		next := 1
		for _, m := range ref.FindAllStringSubmatch(body, -1) {
			n, _ := strconv.Atoi(m[1])
			if n > next {
				t.Fatalf("source [%d] is used before [%d]:\n%s", n, next, body)
			}
			if n == next {
				next++
			}
		}
		if next < 4 {
			t.Fatalf("only %d sources cited:\n%s", next-1, out)
		}
		if out != first {
			t.Fatal("two runs of the same plan differ")
		}
	}
}

// TestQuietOutputIsWrappedLikeTheRest: with -q, findings wrap at the width as
// their remedies and the full output do (a finding was one long line while
// its remedy wrapped).
func TestQuietOutputIsWrappedLikeTheRest(t *testing.T) {
	runs := [][]string{
		{"check", "-q", "--fail-on", "never", "--root", snapshots + "intel-l0-nesting-off/root"},
		{"check", "-q", "--fail-on", "never", "--root", snapshots + "amd-l0-nested/root", "--migrates", "yes"},
		{"plan", "-q", "--fail-on", "never", examples},
	}
	for _, args := range runs {
		out, stderr, _ := nv(t, "", args...)
		if out == "" {
			t.Fatalf("%v printed nothing: %s", args, stderr)
		}
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if n := utf8.RuneCountInString(l); n > 100 && strings.Contains(strings.TrimSpace(l), " ") {
				t.Errorf("%v: a line of %d columns (the width is 100):\n%s", args[0], n, l)
			}
		}
	}
}

// TestARootAboveASnapshotIsPointedToIt: --root at a snapshot's parent (the tree
// is in X/root) is refused with the directory it probably meant, named once.
func TestARootAboveASnapshotIsPointedToIt(t *testing.T) {
	dir := snapshots + "pvm"
	_, stderr, code := nv(t, "", "check", "--root", dir)
	if code != ExitInput || !strings.Contains(stderr, "did you mean "+filepath.Join(dir, "root")+"?") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if strings.Count(stderr, dir) != 2 { // the flag's value, and the hint
		t.Errorf("the directory is named %d times: %s", strings.Count(stderr, dir), stderr)
	}
	if _, stderr, _ := nv(t, "", "check", "--root", t.TempDir()); strings.Contains(stderr, "did you mean") {
		t.Errorf("a hint for an empty directory: %s", stderr)
	}
}

// TestAGuestHypervisorTypoGetsOneErrorAndOnlyAcceptedSuggestions: "vmware" on a
// guest is refused once (no second error at the same position), and not told
// "did you mean esxi", which a guest cannot run; on a host it is.
func TestAGuestHypervisorTypoGetsOneErrorAndOnlyAcceptedSuggestions(t *testing.T) {
	guest := filepath.Join(t.TempDir(), "guest.yaml")
	os.WriteFile(guest, []byte("host:\n  os: rhel10.0\n  guests:\n    - name: u\n      os: rhel10.0\n      hypervisor: vmware\n      guests:\n        - name: w\n"), 0o644)
	_, stderr, code := nv(t, "", "plan", guest)
	if code != ExitInput || strings.Count(stderr, "error:") != 1 || strings.Contains(stderr, "esxi") || !strings.Contains(stderr, ":6:19: host.guests[0].hypervisor: unknown value \"vmware\"") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	host := filepath.Join(t.TempDir(), "host.yaml")
	os.WriteFile(host, []byte("host:\n  hypervisor: vmware\n  guests:\n    - name: u\n      os: rhel10.0\n"), 0o644)
	if _, stderr, _ := nv(t, "", "plan", host); !strings.Contains(stderr, `did you mean "esxi"?`) {
		t.Errorf("a host's vmware is not pointed to esxi:\n%s", stderr)
	}
}

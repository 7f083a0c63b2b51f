package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/topology"
)

// TestEachJudgesEveryFileAndReportsEveryBadOne: the examples, stdin, a file that
// is not there and one that is not a topology, in one run; the bad ones come
// back with their file and line, the good ones with their verdict.
func TestEachJudgesEveryFileAndReportsEveryBadOne(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("host:\n  os: rhel10.0\n  cpu: sparc\n"), 0o644)
	files := []string{"../../examples/wsl2-supported.yaml", "../../examples/ibm-z-hugepages.yaml", "-", filepath.Join(dir, "missing.yaml"), bad}
	stdin := strings.NewReader("host: {os: rhel10.0, arch: x86_64, cpu: intel, nested: true, guests: [{name: w, os: win11, hypervisor: wsl2, guests: [{name: u, os: ubuntu24.04}]}]}\n")
	var mu sync.Mutex
	got := map[int]string{}
	errs := map[int]*InputError{}
	worst := policy.Supported
	var order []int
	Each(policy.Default(), files, stdin, func(i int, r TopologyResult, err *InputError) int {
		mu.Lock()
		defer mu.Unlock()
		if r.Verdict != nil {
			got[i] = r.Verdict.String()
			worst = policy.Worst(worst, *r.Verdict)
		}
		if err != nil {
			errs[i] = err
			if r.Error == nil || len(r.Error.Problems) == 0 || len(r.Chains) != 0 {
				t.Errorf("%s: the result of a bad file carries no problems: %+v", files[i], r)
			}
		}
		return i
	}, func(i, r int) error {
		if i != r {
			t.Errorf("emit got file %d's result as file %d's", r, i)
		}
		order = append(order, i)
		return nil
	})
	if fmt.Sprint(order) != "[0 1 2 3 4]" {
		t.Errorf("emitted in the order %v", order)
	}
	for i, want := range map[int]string{0: "supported", 1: "does-not-work", 2: "supported"} {
		if got[i] != want {
			t.Errorf("%s: %q, want %q", files[i], got[i], want)
		}
	}
	if worst != policy.DoesNotWork {
		t.Errorf("worst %s", worst)
	}
	if e := errs[3]; e == nil || e.File != files[3] {
		t.Errorf("a missing file: %+v", e)
	}
	if e := errs[4]; e == nil || !strings.Contains(e.Error(), "bad.yaml:3") || !strings.Contains(e.Error(), "sparc") {
		t.Errorf("a bad topology names its line and field: %v", e)
	}
	if fe := ErrorOf(bad, errs[4].Err); fe.Problems[0].Line == nil || *fe.Problems[0].Line != 3 {
		t.Errorf("ErrorOf: %+v", fe.Problems)
	}
}

// TestChainsOfATopology: one chain per leaf, the L0's facts from the arch table,
// an OS the file leaves out unknown.
func TestChainsOfATopology(t *testing.T) {
	for _, c := range []struct {
		doc     string
		paths   []string
		module  string
		unknown []string
	}{
		{"host: {os: rhel10.0, arch: x86_64, cpu: amd, guests: [{name: a, os: rhel10.0, hypervisor: kvm, guests: [{name: b, os: rhel9.6}, {name: c}]}]}",
			[]string{"host/a/b", "host/a/c"}, "kvm_amd", []string{"", "l2.os"}},
		{"host: {os: rhel10.0, arch: s390x, guests: [{name: z}]}", []string{"host/z"}, "kvm", []string{"l1.os"}},
		{"host: {os: rhel10.0, arch: aarch64}", []string{"host"}, "", nil}, // nesting does not work there: no module carries it
	} {
		top, err := topology.Parse("t.yaml", []byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", c.doc, err)
		}
		chains := Chains(top)
		if len(chains) != len(c.paths) {
			t.Fatalf("%s: %d chains, want %d", c.doc, len(chains), len(c.paths))
		}
		for i, ch := range chains {
			if p := strings.Join(ch.Path, "/"); p != c.paths[i] {
				t.Errorf("path %s, want %s", p, c.paths[i])
			}
			if ch.L0.Module != c.module {
				t.Errorf("%s: module %s, want %s", c.doc, ch.L0.Module, c.module)
			}
			if c.unknown != nil && c.unknown[i] != "" && !strings.Contains(strings.Join(ch.Unknown, ","), c.unknown[i]) {
				t.Errorf("%s: unknown %v lacks %s", c.doc, ch.Unknown, c.unknown[i])
			}
		}
	}
}

// TestEachStreamsInOrderWithinAWindow: emit sees every file in order however the
// workers finish, workers never run more than the window ahead of the file
// emitted, and an error from emit stops the run and is returned.
func TestEachStreamsInOrderWithinAWindow(t *testing.T) {
	files := make([]string, 400)
	for i := range files {
		files[i] = filepath.Join(t.TempDir(), "missing.yaml") // fast to judge: not there
	}
	window := 4 * runtime.GOMAXPROCS(0)
	var judged atomic.Int64
	next := 0
	err := Each(policy.Default(), files, nil, func(i int, _ TopologyResult, _ *InputError) int {
		judged.Add(1)
		return i
	}, func(i, r int) error {
		if i != next || r != i {
			t.Fatalf("emitted %d (result %d), want %d", i, r, next)
		}
		if ahead := int(judged.Load()) - i; ahead > window {
			t.Errorf("workers ran %d files ahead of the one emitted (window %d)", ahead, window)
		}
		next++
		if i == 99 {
			return errors.New("the reader went away")
		}
		return nil
	})
	if err == nil || err.Error() != "the reader went away" || next != 100 {
		t.Errorf("after a failed emit: %v, %d emitted", err, next)
	}
	if n := judged.Load(); n > int64(100+window) {
		t.Errorf("%d files judged after the run stopped at 100", n)
	}
}

func TestUnjudgedSaysWhichFilesAndHowMany(t *testing.T) {
	if err := Unjudged([]error{nil, nil}); err != nil {
		t.Errorf("all judged: %v", err)
	}
	err := Unjudged([]error{nil, errors.New("b.yaml:3: l0: unknown field"), nil})
	if !errors.As(err, new(fault.Input)) || !strings.Contains(err.Error(), "b.yaml:3") || !strings.Contains(err.Error(), "1 of 3 files could not be judged") {
		t.Errorf("%v", err)
	}
	if err := Unjudged([]error{errors.New("-: empty")}); strings.Contains(err.Error(), "of 1 files") {
		t.Errorf("one file: %v", err)
	}
}

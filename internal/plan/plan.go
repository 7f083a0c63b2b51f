// Package plan judges planned deployments: it loads topology files, turns each path
// from host to leaf into a policy chain, and collects the verdicts.
package plan

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/facts"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
	"github.com/nestvirt/nestvirt/internal/topology"
)

// TopologyResult is the verdict on one topology file. A file that could not be
// read or is not a valid topology has no verdict and no chains, and an Error.
type TopologyResult struct {
	File    string               `json:"file"`
	Name    *string              `json:"name"` // null when the file names none
	Verdict *policy.Level        `json:"verdict"`
	Chains  []policy.ChainResult `json:"chains"`
	Error   *FileError           `json:"error"`
}

// FileError is why a file was not judged, with each problem's position.
type FileError struct {
	Message  string    `json:"message"`
	Problems []Problem `json:"problems"`
}

// Problem is one mistake in a file.
type Problem struct {
	File    string  `json:"file"`
	Line    *int    `json:"line"`   // null for a problem of the whole file
	Column  *int    `json:"column"` // as line
	Path    *string `json:"path"`   // the field ("host.guests[1].os"); null for the document
	Message string  `json:"message"`
}

func nonZero(i int) *int {
	if i == 0 {
		return nil
	}
	return &i
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ErrorOf describes a load error for the output.
func ErrorOf(file string, err error) *FileError {
	fe := &FileError{Message: err.Error(), Problems: []Problem{}}
	var probs strictyaml.Problems
	if errors.As(err, &probs) {
		for _, p := range probs {
			fe.Problems = append(fe.Problems, Problem{File: p.File, Line: nonZero(p.Line), Column: nonZero(p.Col), Path: nonEmpty(p.Path), Message: p.Msg})
		}
		return fe
	}
	fe.Problems = append(fe.Problems, Problem{File: file, Message: err.Error()})
	return fe
}

// InputError is a file that could not be read or is not a valid topology. Err is a
// strictyaml.Problems for a bad document.
type InputError struct {
	File string
	Err  error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Chains converts a topology into the chains the policy judges. A planned L1 is
// taken to expose virtualization (a plan states intent; vms checks the real one);
// an OS the file does not give is unknown.
func Chains(t *topology.Topology) []policy.Chain {
	h := &t.Host
	info := arch.Of(h.Arch, h.CPU)
	l0 := facts.L0{
		Name: h.Name, Arch: h.Arch, CPU: h.CPU, Module: info.Module, Nestable: info.Nestable,
		Hypervisor: h.Hypervisor, Platform: h.Platform, Nested: h.Nested, Hugepages: h.Hugepages, Migration: h.Migration, Seen: true,
	}
	var l0Unknown []string
	if h.OS != nil {
		l0.OS = facts.OSOf(*h.OS)
	} else {
		l0Unknown = append(l0Unknown, "l0.os")
	}
	tcs := t.Chains()
	out := make([]policy.Chain, len(tcs))
	for i, tc := range tcs {
		gs := make([]facts.Guest, len(tc.Guests))
		unknown := l0Unknown
		cl0 := l0
		for j, g := range tc.Guests {
			gs[j] = facts.Guest{Present: true, Name: g.Name, Runs: g.Runs, RunsStated: g.RunsStated, Exposes: true, Build: g.Build}
			if g.OS != nil {
				gs[j].OS = facts.OSOf(*g.OS)
			} else {
				unknown = append(unknown[:len(unknown):len(unknown)], fmt.Sprintf("l%d.os", j+1))
			}
			// A guest backed by huge pages is its host's business: the L0's for
			// an L1, the guest above for an L2.
			if g.Hugepages {
				if j == 0 {
					cl0.Hugepages = true
				} else {
					gs[j-1].Hugepages = true
				}
			}
		}
		if len(gs) > 0 {
			gs[0].Migrates = h.Migration
			if m := tc.Guests[0].Migrates; m != nil {
				gs[0].Migrates = *m
			}
		}
		out[i] = policy.Chain{Path: tc.Path(), L0: cl0, Guests: gs, Unknown: unknown}
	}
	return out
}

// Judge evaluates every chain of a topology; the file's verdict is the worst.
func Judge(p *policy.Policy, t *topology.Topology) (TopologyResult, error) {
	res := TopologyResult{File: t.File, Name: nonEmpty(t.Name)}
	chains, err := p.JudgeChains(Chains(t))
	res.Chains = chains
	v := policy.Supported
	for _, c := range chains {
		v = policy.Worst(v, c.Verdict)
	}
	res.Verdict = &v
	return res, err
}

// TuneMemory sets the collector for a batch of n files: a large batch
// allocates far more than it keeps (the YAML syntax trees), so the heap may
// grow to 4x the live data between collections, which streaming keeps small,
// under a soft limit that bounds the run. Measured in docs/PERFORMANCE.md; an
// explicit GOGC or GOMEMLIMIT wins. It is process-wide: the command that runs
// a plan calls it once.
func TuneMemory(n int) {
	if n > 100 && os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(300)
		debug.SetMemoryLimit(memoryLimit)
	}
}

// memoryLimit is the soft heap limit of a large plan run: streaming keeps the
// live heap to the files in flight, so this only spaces out collections.
const memoryLimit = 256 << 20

// Worst is the worst of the verdicts of a batch; nil when none was judged.
func Worst(verdicts []*policy.Level) *policy.Level {
	var w *policy.Level
	for _, v := range verdicts {
		if v != nil && (w == nil || *v > *w) {
			w = v
		}
	}
	return w
}

// Unjudged is the error of a batch's files that could not be judged (bad,
// one per file, nil for a file judged), bad input; nil when every file was
// judged. Of several files it says the others were.
func Unjudged(bad []error) error {
	var errs []error
	for _, e := range bad {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	if len(bad) > 1 {
		errs = append(errs, fmt.Errorf("%d of %d files could not be judged; the others were", len(errs), len(bad)))
	}
	return fault.Input{Err: errors.Join(errs...)}
}

// Each judges files on all CPUs. work runs on the worker that judged a file
// (concurrently with other files' work; i is the file's index), a file that
// failed to load included, with err set: a run judges every good file and
// reports every bad one. emit then gets work's result on the caller's
// goroutine, in file order, so output streams in order while memory holds only
// the files in flight: workers run at most a window of files ahead of the one
// emitted. An error from emit stops the run and is returned.
func Each[R any](p *policy.Policy, files []string, stdin io.Reader, work func(i int, t TopologyResult, err *InputError) R, emit func(i int, r R) error) error {
	workers := runtime.GOMAXPROCS(0)
	window := 4 * workers
	type done struct {
		i int
		r R
	}
	jobs := make(chan int)
	results := make(chan done, window)
	slots := make(chan struct{}, window) // a slot per file judged and not yet emitted
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t, err := judgeFile(p, files[i], stdin)
				var ie *InputError
				if err != nil {
					var ok bool
					if ie, ok = err.(*InputError); !ok {
						ie = &InputError{File: files[i], Err: err}
					}
					t.Error, t.Chains = ErrorOf(t.File, ie.Err), []policy.ChainResult{}
				}
				results <- done{i, work(i, t, ie)}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range files {
			select {
			case slots <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case jobs <- i:
			case <-stop:
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	pending := make(map[int]R, window)
	next := 0
	var err error
	for d := range results {
		if err != nil {
			continue // draining after a failed emit
		}
		pending[d.i] = d.r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if err = emit(next, r); err != nil {
				close(stop)
				break
			}
			next++
			<-slots
		}
	}
	return err
}

func judgeFile(p *policy.Policy, file string, stdin io.Reader) (TopologyResult, error) {
	name := file
	if file == "-" {
		name = "<stdin>"
	}
	data, err := topology.ReadFile(file, stdin)
	if err != nil {
		return TopologyResult{File: name}, &InputError{File: name, Err: err}
	}
	t, err := topology.Parse(name, data)
	if err != nil {
		return TopologyResult{File: name}, &InputError{File: name, Err: err}
	}
	return Judge(p, t)
}

// Files are the topology files args name: a file, a directory's topology files
// (sorted; with recursive, its subdirectories' too), "-" for standard input.
// skipped says what the directories held that is not read, so nothing is left
// out silently.
func Files(args []string, recursive bool) (files, skipped []string, err error) {
	return topology.Expand(args, recursive)
}

// KnownOS are the OS names a topology file (and --l2, --os, --l0-os) takes:
// libosinfo's short ids nestvirt knows, with the system's osinfo-db.
func KnownOS() []osid.Listed { return osid.Known() }

// AnyDir says whether one of args is a directory (a run over one ends with a
// summary, even of one file).
func AnyDir(args []string) bool {
	for _, a := range args {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			return true
		}
	}
	return false
}

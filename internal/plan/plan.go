// Package plan judges planned deployments: it loads topology files, turns each path
// from host to leaf into a policy chain, and collects the verdicts.
package plan

import (
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/topology"
)

// TopologyResult is the verdict on one topology file.
type TopologyResult struct {
	File    string               `json:"file"`
	Name    string               `json:"name"`
	Verdict policy.Level         `json:"verdict"`
	Chains  []policy.ChainResult `json:"chains"`
}

// Result is the verdict on every file of one run.
type Result struct {
	Verdict    policy.Level     `json:"verdict"`
	Topologies []TopologyResult `json:"topologies"`
}

// InputError is a file that could not be read or is not a valid topology. Err is a
// strictyaml.Problems for a bad document.
type InputError struct {
	File string
	Err  error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Chains converts a topology into the chains the policy judges.
func Chains(t *topology.Topology) []policy.Chain {
	h := &t.Host
	l0 := policy.L0{
		Name: h.Name, OS: h.OS, Arch: h.Arch, CPU: h.CPU, Hypervisor: h.Hypervisor,
		Platform: h.Platform, Nested: h.Nested, Hugepages: h.Hugepages, Migration: h.Migration,
	}
	tcs := t.Chains()
	out := make([]policy.Chain, len(tcs))
	for i, tc := range tcs {
		gs := make([]policy.Guest, len(tc.Guests))
		for j, g := range tc.Guests {
			gs[j] = policy.Guest{Name: g.Name, OS: g.OS, Runs: g.Runs}
		}
		out[i] = policy.Chain{Path: tc.Path(), L0: l0, Guests: gs}
	}
	return out
}

// Judge evaluates every chain of a topology.
func Judge(p *policy.Policy, t *topology.Topology) (TopologyResult, error) {
	res := TopologyResult{File: t.File, Name: t.Name}
	chains, err := p.JudgeChains(Chains(t))
	res.Chains = chains
	for _, c := range chains {
		res.Verdict = policy.Worst(res.Verdict, c.Verdict)
	}
	return res, err
}

// JudgeFiles reads, parses and judges files ("-" is stdin) on all CPUs, keeping
// their order. Every file that fails to load is returned as an *InputError in the
// joined error, and no result is returned then: a run judges all its input or none.
func JudgeFiles(p *policy.Policy, files []string, stdin io.Reader) (Result, error) {
	results := make([]TopologyResult, len(files))
	verdict, err := Each(p, files, stdin, func(i int, t TopologyResult) { results[i] = t })
	if err != nil {
		return Result{}, err
	}
	return Result{Verdict: verdict, Topologies: results}, nil
}

// Each judges files on all CPUs and hands each result to fn, from the worker that
// judged it (fn must be safe for concurrent calls; i is the file's index). Callers
// that render each result at once keep only the rendered bytes, which is what lets
// a run over 100,000 chains stay fast: the heap the GC scans stays small. It returns
// the worst verdict, or the joined *InputErrors of every file that failed to load.
func Each(p *policy.Policy, files []string, stdin io.Reader, fn func(i int, t TopologyResult)) (policy.Level, error) {
	errs := make([]error, len(files))
	verdicts := make([]policy.Level, len(files))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				t, err := judgeFile(p, files[i], stdin)
				if err != nil {
					errs[i] = err
					continue
				}
				verdicts[i] = t.Verdict
				fn(i, t)
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	v := policy.Supported
	for _, x := range verdicts {
		v = policy.Worst(v, x)
	}
	return v, nil
}

func judgeFile(p *policy.Policy, file string, stdin io.Reader) (TopologyResult, error) {
	data, err := topology.ReadFile(file, stdin)
	if err != nil {
		return TopologyResult{}, &InputError{File: file, Err: err}
	}
	name := file
	if file == "-" {
		name = "<stdin>"
	}
	t, err := topology.Parse(name, data)
	if err != nil {
		return TopologyResult{}, &InputError{File: file, Err: err}
	}
	return Judge(p, t)
}

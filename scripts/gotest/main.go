// Command gotest reads `go test -json` and prints what a person needs of it: a
// line per package, the whole output of every test that failed, and every test
// that skipped. With -noskip a skipped test fails the run: scripts/test.sh runs
// the integration tests that way, where a skip would stand in for something
// that was not tested.
//
//	go test -json -tags integration ./... | go run ./scripts/gotest -noskip
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of test2json (go doc test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type result struct {
	passed, failed, skipped []string
	out                     map[string]*strings.Builder // per test, and "" for the package
	done                    string
	elapsed                 float64
}

func main() {
	noskip := flag.Bool("noskip", false, "fail the run when a test skips")
	flag.Parse()
	os.Exit(run(os.Stdin, os.Stdout, *noskip))
}

func run(in io.Reader, w io.Writer, noskip bool) int {
	pkgs := map[string]*result{}
	var order []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	code := 0
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Package == "" {
			// Build errors and other lines that are not events: show them as they are.
			fmt.Fprintln(w, sc.Text())
			if !strings.HasPrefix(sc.Text(), "go: downloading") {
				code = 1
			}
			continue
		}
		r := pkgs[e.Package]
		if r == nil {
			r = &result{out: map[string]*strings.Builder{}}
			pkgs[e.Package] = r
			order = append(order, e.Package)
		}
		switch e.Action {
		case "output":
			b := r.out[e.Test]
			if b == nil {
				b = &strings.Builder{}
				r.out[e.Test] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				r.done, r.elapsed = e.Action, e.Elapsed
				continue
			}
			switch e.Action {
			case "pass":
				r.passed = append(r.passed, e.Test)
			case "fail":
				r.failed = append(r.failed, e.Test)
			case "skip":
				r.skipped = append(r.skipped, e.Test)
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(w, "gotest: reading go test -json: %v\n", err)
		return 1
	}
	total, skips := 0, 0
	for _, p := range order {
		r := pkgs[p]
		total += len(r.passed) + len(r.failed)
		switch {
		case r.done == "fail" || len(r.failed) > 0:
			code = 1
			fmt.Fprintf(w, "FAIL\t%s\t%.1fs\n", p, r.elapsed)
			failed := append([]string(nil), r.failed...)
			sort.Strings(failed)
			for _, t := range failed {
				if !parentOfAnother(t, failed) {
					fmt.Fprint(w, indent(r.out[t].String()))
				}
			}
			if len(failed) == 0 && r.out[""] != nil {
				fmt.Fprint(w, indent(r.out[""].String())) // a panic or a build failure
			}
		case r.done == "skip":
			fmt.Fprintf(w, "?\t%s\t[no test files]\n", p)
		default:
			fmt.Fprintf(w, "ok\t%s\t%.1fs\t%d tests\n", p, r.elapsed, len(r.passed))
		}
		for _, t := range r.skipped {
			skips++
			reason := ""
			if b := r.out[t]; b != nil {
				reason = strings.TrimSpace(b.String())
			}
			fmt.Fprintf(w, "SKIP\t%s\t%s\n%s", p, t, indent(reason+"\n"))
		}
	}
	fmt.Fprintf(w, "%d tests passed or failed, %d skipped\n", total, skips)
	if noskip && skips > 0 {
		fmt.Fprintf(w, "gotest: %d tests skipped; in this run every test must run (a skip stands in for something untested)\n", skips)
		code = 1
	}
	return code
}

// parentOfAnother: a failed test whose subtest failed too prints once, with
// the subtest's output.
func parentOfAnother(t string, failed []string) bool {
	for _, f := range failed {
		if strings.HasPrefix(f, t+"/") {
			return true
		}
	}
	return false
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString("    " + l)
		}
	}
	return b.String()
}

package cli

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// wired are the packages the command layer may import besides the standard
// library: cobra, and the application's packages, one call each per command.
// What decides lives in them; the probe's sources, the policy's internals,
// domain XML, confined files, the strict YAML reader, OS names and arch tables
// are theirs to import (docs/ARCHITECTURE.md, "The command layer").
var wired = []string{
	"github.com/spf13/cobra",
	"golang.org/x/sys/unix", // whether stdout was open at start
	// What the commands do.
	"internal/buildinfo",  // version: the build's stamps
	"internal/clioptions", // the flags the commands share, checked and completed
	"internal/ansible",    // facts install, uninstall
	"internal/audit",      // judge a machine read, and a host's VMs
	"internal/expose",     // expose, unexpose, annotate
	"internal/fleet",      // report: a fleet's documents
	"internal/guard",      // guard install, uninstall, status, hook
	"internal/hostconf",   // enable, disable
	"internal/inspect",    // read a machine from its source; snapshot
	"internal/judge",      // the results the renderers take
	"internal/libvirt",    // the daemon the commands dial
	"internal/manual",     // what each command says of itself (--help, man pages)
	"internal/plan",       // plan
	"internal/policy",     // the policy: --policy, lint, show, levels for --fail-on
	// The contracts and the helpers of output and exit codes.
	"internal/doc",               // the JSON documents
	"internal/fault",             // the kinds of failure the exit codes are made from
	"internal/report",            // the renderers for people and the JSON, and --output's atomic write
	"internal/report/prometheus", // check for node_exporter's textfile collector
	"internal/report/nfd",        // check as a Node Feature Discovery feature file
	"internal/report/fleetpage",  // report: the fleet's page and CSV
	"schema",                     // nestvirt schema: the documents' JSON Schemas
}

// TestTheCommandLayerOnlyWires: internal/cli imports nothing but the standard
// library, cobra and the packages above, in its non-test files.
func TestTheCommandLayerOnlyWires(t *testing.T) {
	const module = "github.com/nestvirt/nestvirt/"
	seen := 0
	for f, src := range sources(t) {
		ast, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		seen++
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case !strings.Contains(first, "."):
				// the standard library
			case slices.Contains(wired, path), slices.Contains(wired, strings.TrimPrefix(path, module)) && strings.HasPrefix(path, module):
			default:
				t.Errorf("%s imports %s: the command layer wires the application's packages (%s); what it needs of %s belongs in one of them", f, path, strings.Join(wired, ", "), path)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("only %d files read: is this internal/cli?", seen)
	}
}

// maxLines bounds the command layer (issue 36): what grows it past this is a
// decision or a rendering that belongs in a package it calls.
const maxLines = 1500

func TestTheCommandLayerStaysSmall(t *testing.T) {
	n := 0
	for _, src := range sources(t) {
		n += strings.Count(string(src), "\n")
	}
	if n >= maxLines {
		t.Errorf("internal/cli is %d lines (its non-test files); it wires, under %d: move what decides or renders into the package it belongs to (docs/ARCHITECTURE.md)", n, maxLines)
	}
}

// sources are internal/cli's non-test files, by name.
func sources(t *testing.T) map[string][]byte {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = src
	}
	return out
}

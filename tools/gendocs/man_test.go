package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/cli"
	"github.com/nestvirt/nestvirt/internal/facts"
)

// generated writes every page as package.sh does and returns them by file name.
func generated(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	root := cli.Command()
	asMarkdown(root)
	if err := manTree(root, "1.2.3", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), dir); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	hand, _ := filepath.Glob("../../docs/man/*.5")
	for _, f := range append(files, hand...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".5") {
			b = stampTH(b, "1.2.3", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		}
		pages[filepath.Base(f)] = string(b)
	}
	if len(files) < 20 || len(hand) != 2 {
		t.Fatalf("%d pages, %d by hand", len(files), len(hand))
	}
	return pages
}

var seeAlsoRef = regexp.MustCompile(`\\fB(nestvirt[-\\a-z]*)\\fP\((\d)\)|\.BR (nestvirt[-\\a-z]*) \((\d)\)`)

// TestTheManPagesAreWhatAnAdminReads: no cobra artefact (a boolean flag as
// --help[=false]); EXIT STATUS on every command's page; FILES where a command
// reads or writes the system's files; SEE ALSO across pages, the formats
// included, and every reference names a page that exists.
func TestTheManPagesAreWhatAnAdminReads(t *testing.T) {
	pages := generated(t)
	for name, text := range pages {
		if strings.Contains(text, "[=false]") || strings.Contains(text, "[=true]") {
			t.Errorf("%s: a boolean flag written as flag[=false]", name)
		}
		if strings.HasSuffix(name, ".1") && !strings.Contains(text, ".SH EXIT STATUS") && !strings.Contains(text, "nestvirt\\-help") {
			if c, _, err := cli.Command().Find(strings.Split(strings.TrimSuffix(name, ".1"), "-")[1:]); err == nil && c.Runnable() {
				t.Errorf("%s: no EXIT STATUS", name)
			}
		}
		for _, m := range seeAlsoRef.FindAllStringSubmatch(text[strings.Index(text, "SEE ALSO"):], -1) {
			ref := strings.ReplaceAll(m[1]+m[3], `\-`, "-") + "." + m[2] + m[4]
			if _, ok := pages[ref]; !ok {
				t.Errorf("%s: SEE ALSO names %s, which is not a page", name, ref)
			}
		}
	}
	for _, name := range []string{"nestvirt.1", "nestvirt-plan.1"} {
		if !strings.Contains(pages[name], `\fBnestvirt-topology\fP(5)`) {
			t.Errorf("%s: SEE ALSO does not name nestvirt-topology(5)", name)
		}
	}
	for _, name := range []string{"nestvirt-check.1", "nestvirt-enable.1", "nestvirt-disable.1", "nestvirt-guard-install.1", "nestvirt-facts-install.1", "nestvirt-vms.1"} {
		if !strings.Contains(pages[name], ".SH FILES") {
			t.Errorf("%s: no FILES", name)
		}
	}
	for path := range pagesByPath() {
		if _, ok := pages[strings.ReplaceAll(path, " ", "-")+".1"]; !ok {
			t.Errorf("pages.go describes %q, which is not a command", path)
		}
	}
}

func pagesByPath() map[string]page { return pages }

// TestTheTopologyPageNamesEveryValue: nestvirt-topology(5) lists every value a
// topology file accepts for the host's hypervisor and platform, a guest's
// hypervisor and the CPU (qemu was missing).
func TestTheTopologyPageNamesEveryValue(t *testing.T) {
	b, err := os.ReadFile("../../docs/man/nestvirt-topology.5")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, list := range [][]string{facts.Hypervisors, facts.Platforms, facts.GuestRuns, facts.CPUs} {
		for _, v := range list {
			if !regexp.MustCompile(`(\.IR? |" )` + regexp.QuoteMeta(strings.ReplaceAll(v, "-", `\-`)) + `|(\.IR? |" )` + regexp.QuoteMeta(v)).MatchString(page) {
				t.Errorf("nestvirt-topology(5) does not name %q", v)
			}
		}
	}
}

// TestEveryPageCarriesOneDateAndVersion: nestvirt-topology(5) carried another
// date and no version than the pages generated with it.
func TestEveryPageCarriesOneDateAndVersion(t *testing.T) {
	th := regexp.MustCompile(`(?m)^\.TH .*$`)
	var first string
	for name, text := range generated(t) {
		line := th.FindString(text)
		fields := strings.Fields(strings.ReplaceAll(line, `"`, " "))
		if len(fields) < 6 {
			t.Errorf("%s: title line %q", name, line)
			continue
		}
		stamp := strings.Join(fields[3:], " ") // the date, version and manual
		if first == "" {
			first = stamp
		}
		if stamp != first || !strings.Contains(stamp, "Dec 2026 nestvirt 1.2.3") {
			t.Errorf("%s says %q; the others %q", name, stamp, first)
		}
	}
}

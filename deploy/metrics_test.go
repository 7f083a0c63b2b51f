package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestTheMetricsDocShowsTheAlertRulesAsShipped: docs/METRICS.md quotes the rules
// file whole, so what an admin copies from the page is what promtool tested.
func TestTheMetricsDocShowsTheAlertRulesAsShipped(t *testing.T) {
	rules, err := os.ReadFile("prometheus/nestvirt.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("../docs/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "```yaml\n"+string(rules)+"```\n") {
		t.Error("docs/METRICS.md does not hold deploy/prometheus/nestvirt.rules.yml as it is")
	}
}

var nfpmContent = regexp.MustCompile(`(?m)^  - src: (\S+)\n    dst: (\S+)`)

// TestTheREADMENamesWhereThePackageInstallsTheExamples: for every example and
// deployment file the package installs, the README names the installed
// directory, not only the repository's.
func TestTheREADMENamesWhereThePackageInstallsTheExamples(t *testing.T) {
	spec, err := os.ReadFile("packages/nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range nfpmContent.FindAllStringSubmatch(string(spec), -1) {
		src, dst := m[1], m[2]
		if !strings.HasPrefix(src, "examples/") && !strings.HasPrefix(src, "deploy/kubernetes") && !strings.HasPrefix(src, "deploy/prometheus") && !strings.HasPrefix(src, "deploy/systemd") {
			continue
		}
		if strings.HasSuffix(src, "README.md") {
			continue // a document the README links to, installed where the link leads
		}
		n++
		dir := dst
		if !strings.HasSuffix(dst, "/") {
			dir = dst[:strings.LastIndex(dst, "/")+1]
		}
		if !strings.Contains(string(readme), "`"+dir) {
			t.Errorf("the package installs %s in %s, which the README does not name", src, dir)
		}
	}
	if n < 5 {
		t.Fatalf("%d example entries in nfpm.yaml", n)
	}
}

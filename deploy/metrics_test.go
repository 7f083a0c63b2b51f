package deploy

import (
	"os"
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

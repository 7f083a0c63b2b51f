//go:build integration

// Package deploy holds what runs nestvirt on a schedule: a Kubernetes DaemonSet
// for Node Feature Discovery, and systemd units for a Prometheus textfile and an
// NFD feature file. Its test holds the units to what systemd accepts; the
// DaemonSet is decoded into Kubernetes' own types in the tools module
// (tools/deploy), so nestvirt's go.mod does not carry k8s.io.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTheSystemdUnitsVerify runs systemd-analyze verify over the units: any
// complaint (an unknown setting, a bad value) fails, even the ones it only warns of.
func TestTheSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is needed (Debian's systemd package): %v", err)
	}
	units, _ := filepath.Glob("systemd/*.service")
	timers, _ := filepath.Glob("systemd/*.timer")
	if len(units) == 0 || len(timers) == 0 {
		t.Fatalf("units %v timers %v", units, timers)
	}
	for _, u := range append(units, timers...) {
		body, _ := os.ReadFile(u)
		for _, want := range []string{"[Unit]", "Description="} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("%s: no %s", u, want)
			}
		}
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, append(units, timers...)...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestTheAlertRulesCheckAndFire: promtool accepts the shipped alert rules, and
// its rule unit tests show each alert firing on the series nestvirt writes for
// its case and quiet on the others.
func TestTheAlertRulesCheckAndFire(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed (Debian's prometheus package; scripts/test.sh installs it): %v", err)
	}
	for _, args := range [][]string{{"check", "rules", "nestvirt.rules.yml"}, {"test", "rules", "nestvirt.rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

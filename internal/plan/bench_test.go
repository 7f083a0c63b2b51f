package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/topology"
)

// writeTopologies writes n files of five two-level chains, as scripts/gentopo does.
func writeTopologies(b *testing.B, n int) string {
	dir := b.TempDir()
	l1s := []struct{ os, hv, l2 string }{
		{"win11", "wsl2", "ubuntu24.04"}, {"win2k22", "hyper-v", "win2k19"}, {"rhel9.6", "kvm", "rhel10.0"},
		{"rhel10.0", "kvm", "rhel9.5"}, {"win2k19", "wsl2", "fedora41"},
	}
	for i := 0; i < n; i++ {
		var s strings.Builder
		fmt.Fprintf(&s, "name: gen-%d\nhost:\n  name: host-%d\n  os: rhel10.0\n  cpu: amd\n  guests:\n", i, i)
		for j := 0; j < 5; j++ {
			g := l1s[(i+j)%len(l1s)]
			fmt.Fprintf(&s, "    - name: vm%d\n      os: %s\n      hypervisor: %s\n      guests:\n        - name: inner%d\n          os: %s\n", j, g.os, g.hv, j, g.l2)
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("t%05d.yaml", i)), []byte(s.String()), 0o644)
	}
	return dir
}

// BenchmarkJudgeFiles measures read, parse and judge of 1,000 files (5,000 chains).
func BenchmarkJudgeFiles(b *testing.B) {
	dir := writeTopologies(b, 1000)
	files, _, err := topology.Expand([]string{dir}, false)
	if err != nil {
		b.Fatal(err)
	}
	p := policy.Default()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := Each(p, files, nil, func(i int, t TopologyResult, err *InputError) error {
			if err != nil {
				return err
			}
			return nil
		}, func(i int, err error) error { return err })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*5000), "ns/chain")
}

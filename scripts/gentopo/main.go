// Command gentopo writes N topology files of 5 two-level chains each (host -> L1 ->
// L2), varied across the matrix, for the plan benchmark in docs/PERFORMANCE.md.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	n := flag.Int("n", 20000, "number of files")
	dir := flag.String("dir", "", "output directory (created)")
	flag.Parse()
	if *dir == "" {
		log.Fatal("gentopo: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	l1s := []struct{ os, hv, l2 string }{
		{"win11", "wsl2", "ubuntu24.04"},
		{"win2k22", "hyper-v", "win2k19"},
		{"rhel9.6", "kvm", "rhel10.0"},
		{"rhel10.0", "kvm", "rhel9.5"},
		{"win2k19", "wsl2", "fedora41"},
	}
	cpus := []string{"intel", "amd"}
	for i := 0; i < *n; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "name: gen-%d\nhost:\n  name: host-%d\n  os: rhel10.%d\n  cpu: %s\n  migration: %v\n  guests:\n", i, i, i%3, cpus[i%2], i%7 == 0)
		for j := 0; j < 5; j++ {
			g := l1s[(i+j)%len(l1s)]
			fmt.Fprintf(&b, "    - name: vm%d\n      os: %s\n      hypervisor: %s\n      guests:\n        - name: inner%d\n          os: %s\n", j, g.os, g.hv, j, g.l2)
		}
		if err := os.WriteFile(filepath.Join(*dir, fmt.Sprintf("t%05d.yaml", i)), []byte(b.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

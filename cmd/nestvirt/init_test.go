package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Budgets for what package initialisation may cost, paid by every command the
// guard hook included. Bytes are what the runtime counts (the same on every
// machine for a build); the largest package is named so a new heavy import
// shows who brought it. Today: about 0.8 MB in all, protodesc's 170 KB the most.
// nestvirt's own packages build nothing before a command asks for it (regular
// expressions and tables are made on first use): at most initBytesOwnPackage
// each, today 6 KB at most (report's tables of names), 17 KB in all.
const (
	initBytesBudget       = 1 << 20
	initBytesPerPackage   = 256 << 10
	initBytesOwnPackage   = 8 << 10
	initPackagesMaxBudget = 200
)

// TestInitStaysWithinBudget runs the built binary with GODEBUG=inittrace=1 and
// holds its package initialisation to the budgets above.
func TestInitStaysWithinBudget(t *testing.T) {
	bin := build(t)
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	total, packages := 0, 0
	var clock float64
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		// init github.com/x/y @21 ms, 8.1 ms clock, 1701032 bytes, 21283 allocs
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		bytes, err2 := strconv.Atoi(f[7])
		if err1 != nil || err2 != nil {
			t.Fatalf("an inittrace line this test cannot read: %q", sc.Text())
		}
		packages++
		total += bytes
		clock += ms
		if bytes > initBytesPerPackage {
			t.Errorf("%s allocates %d bytes at init (budget %d per package)", f[1], bytes, initBytesPerPackage)
		}
		if strings.HasPrefix(f[1], "github.com/nestvirt/nestvirt/") && bytes > initBytesOwnPackage {
			t.Errorf("%s allocates %d bytes at init (budget %d for nestvirt's own packages: make it on first use)", f[1], bytes, initBytesOwnPackage)
		}
	}
	if packages == 0 {
		t.Fatalf("no inittrace lines:\n%s", stderr.String())
	}
	if total > initBytesBudget || packages > initPackagesMaxBudget {
		t.Errorf("init allocates %d bytes in %d packages (budget %d bytes, %d packages)", total, packages, initBytesBudget, initPackagesMaxBudget)
	}
	t.Logf("init: %d packages, %d bytes, %.1f ms of clock on this machine", packages, total, clock)
}

// build builds nestvirt once into a temporary directory. Without VCS stamping:
// in a checkout owned by another user (a CI runner's, a copy made by root) git
// refuses to answer ("error obtaining VCS status"), and this is a plain test.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nestvirt")
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return bin
}

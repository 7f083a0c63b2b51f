//go:build unix

package main

import (
	"bytes"
	"os/exec"
	"testing"
)

// TestAClosedStandardOutputIsAFailure: a process started with its standard
// output closed (a shell's >&-) exits 3, where the runtime's /dev/null made
// it exit 0; >/dev/null keeps exit 0.
func TestAClosedStandardOutputIsAFailure(t *testing.T) {
	bin := build(t)
	for redirect, want := range map[string]int{">&-": 3, ">/dev/null": 0} {
		cmd := exec.Command("/bin/sh", "-c", `exec "$0" version `+redirect, bin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Errorf("nestvirt version %s: exit %d, want %d (%s)", redirect, code, want, stderr.String())
		}
	}
}

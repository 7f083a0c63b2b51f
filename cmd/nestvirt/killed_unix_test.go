//go:build unix

package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKilledEditsLeaveNothingBehind: enable and disable of a snapshot tree,
// each killed (SIGKILL) at a random point, 40 times; then one run to the end.
// Afterwards modprobe.d holds no temporary file of nestvirt's (a probe found 28,
// 35 MB, after 100 kills) and kvm.conf is one of the two whole versions.
func TestKilledEditsLeaveNothingBehind(t *testing.T) {
	bin := build(t)
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("../../internal/probe/testdata/snapshots/intel-l0-nesting-off/root")); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(root, "etc/modprobe.d/kvm.conf")
	// A large file, so a write takes long enough to be killed inside.
	pad := strings.Repeat("# padding to make the write take a while\n", 20000)
	os.WriteFile(conf, []byte(pad+"options kvm_intel nested=0\n"), 0o644)
	killed, inside, left := 0, 0, 0
	temps := filepath.Join(root, "etc/modprobe.d/.*.nestvirt-*")
	for i := range 21 {
		verb := []string{"enable", "disable"}[i%2]
		cmd := exec.Command(bin, verb, "--root", root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		// Most runs are killed as soon as a new temporary file shows (inside
		// the write; on a busy machine a run takes seconds to get there), the
		// others at a random moment.
		already, _ := filepath.Glob(temps)
		deadline := time.Now().Add(time.Duration(rand.IntN(30000)) * time.Microsecond)
		if i%3 != 0 {
			deadline = time.Now().Add(10 * time.Second)
		}
	wait:
		for time.Now().Before(deadline) {
			select {
			case <-done:
				break wait // it ran to the end first
			default:
			}
			if now, _ := filepath.Glob(temps); len(now) > len(already) {
				inside++
				break
			}
		}
		if cmd.Process.Kill() == nil {
			killed++
		}
		<-done
		now, _ := filepath.Glob(temps)
		left = max(left, len(now))
	}
	out, err := exec.Command(bin, "enable", "--root", root).CombinedOutput()
	if err != nil {
		t.Fatalf("the run after the kills: %v\n%s", err, out)
	}
	if after, _ := filepath.Glob(temps); len(after) > 0 {
		t.Errorf("%d temporary files left after the next run: %v", len(after), after)
	}
	got, _ := os.ReadFile(conf)
	if string(got) != pad+"options kvm_intel nested=1\n" {
		t.Errorf("kvm.conf is not whole after the kills (%d bytes):\n%.300s", len(got), got[max(0, len(got)-300):])
	}
	if inside == 0 || left == 0 {
		t.Errorf("no run was killed inside its write (%d), or none left a file (%d): the test tested nothing", inside, left)
	}
	t.Logf("%d runs killed, %d inside a write, up to %d temporary files left at once; then one run: %s", killed, inside, left, strings.TrimSpace(string(out)))
}

//go:build integration

package hostconf

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// TestConcurrentSedEditsAreNotLost: 1,400 edits with the real sed -i (a new
// file renamed over the old one) while enable and disable rewrite the same
// modprobe.d file: every edit is in it at the end, or, where two others took
// the name within microseconds of each other during nestvirt's exchange, in
// the conflict file nestvirt kept and reported; none is lost quietly.
func TestConcurrentSedEditsAreNotLost(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	conf := filepath.Join(root, "etc/modprobe.d/kvm.conf")
	const n = 1400
	var stop atomic.Bool
	var runs, conflicts atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; !stop.Load(); k++ {
			_, _, err := run(t, root, Request{Enable: k%2 == 0})
			runs.Add(1)
			switch {
			case err == nil, errors.Is(err, fsroot.ErrChanged), strings.Contains(err.Error(), "kept changing"):
			case strings.Contains(err.Error(), "merge them by hand"):
				conflicts.Add(1)
			default:
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < n; i++ {
		if out, err := exec.Command("sed", "-i", fmt.Sprintf("$a # sed edit %d", i), conf).CombinedOutput(); err != nil {
			t.Fatalf("sed: %v %s", err, out)
		}
	}
	stop.Store(true)
	wg.Wait()
	got := read(t, root, "etc/modprobe.d/kvm.conf")
	kept, _ := filepath.Glob(filepath.Join(root, "etc/modprobe.d/.kvm.conf.nestvirt-conflict-*"))
	for _, k := range kept {
		got += read(t, root, strings.TrimPrefix(k, root+"/"))
	}
	lost := 0
	for i := 0; i < n; i++ {
		if !strings.Contains(got, fmt.Sprintf("# sed edit %d\n", i)) {
			lost++
		}
	}
	t.Logf("%d sed -i edits during %d enable/disable runs: %d lost, %d runs reported a conflict", n, runs.Load(), lost, conflicts.Load())
	if lost > 0 {
		t.Errorf("%d of %d sed -i edits lost", lost, n)
	}
}

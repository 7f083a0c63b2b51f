package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/actions"
)

// TestActionsAgreeWithTheirDryRuns: on every snapshot, each host action check
// lists as possible is one its dry run carries out with something to change,
// and each it lists as impossible is one the dry run refuses or finds nothing
// to change for, with the same reason. The page offers what check lists.
func TestActionsAgreeWithTheirDryRuns(t *testing.T) {
	snaps, _ := filepath.Glob("../probe/testdata/snapshots/*/root")
	if len(snaps) < 20 {
		t.Fatalf("%d snapshots", len(snaps))
	}
	seen := map[string]int{}
	for _, snap := range snaps {
		name := filepath.Base(filepath.Dir(snap))
		tree := filepath.Join(t.TempDir(), "root")
		if err := os.CopyFS(tree, os.DirFS(snap)); err != nil {
			t.Fatal(err)
		}
		out, _, _ := nv(t, "", "check", "--root", tree, "--format", "json", "--fail-on", "never")
		var d struct{ Actions []actions.Action }
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(d.Actions) != 4 {
			t.Errorf("%s: %d actions", name, len(d.Actions))
			continue
		}
		for _, act := range d.Actions {
			if act.ID == actions.GuardInstall || act.ID == actions.GuardUninstall {
				// A snapshot's guard is not the snapshot's to install.
				if act.Possible == nil || *act.Possible || !strings.Contains(*act.Why, "not into a snapshot") {
					t.Errorf("%s: %s %+v", name, act.ID, act)
				}
				continue
			}
			if act.Possible == nil {
				t.Errorf("%s: %s unknown in a tree the test owns: %s", name, act.ID, *act.Why)
				continue
			}
			dry, stderr, code := nv(t, "", act.DryRun...)
			nothing := strings.Contains(dry, "# nothing to change")
			switch {
			case *act.Possible && (code != ExitOK || nothing):
				t.Errorf("%s: %s listed as possible; its dry run: %d %s%s", name, act.ID, code, dry, stderr)
			case !*act.Possible && code == ExitOK && !nothing:
				t.Errorf("%s: %s listed as impossible (%s); its dry run changes:\n%s", name, act.ID, *act.Why, dry)
			case !*act.Possible && code != ExitOK && !strings.Contains(stderr, *act.Why):
				t.Errorf("%s: %s: the list says %q, the dry run %q", name, act.ID, *act.Why, stderr)
			}
			seen[string(act.ID)+map[bool]string{true: " possible", false: " impossible"}[*act.Possible]]++
		}
	}
	// The snapshots hold each case: the test would pass vacuously otherwise.
	for _, k := range []string{"enable possible", "enable impossible", "disable possible", "disable impossible"} {
		if seen[k] == 0 {
			t.Errorf("no snapshot where %s (%v)", k, seen)
		}
	}
}

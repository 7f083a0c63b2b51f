// Package judgetest gives tests a judged machine from a snapshot tree, as
// check judges it with the embedded policy.
package judgetest

import (
	"testing"

	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// Check is the check of the snapshot tree at root, judged with the embedded
// policy; a snapshot that cannot be read or judged fails t.
func Check(t testing.TB, root string) judge.CheckResult {
	t.Helper()
	f, err := inspect.HostFacts(root)
	if err != nil {
		t.Fatal(err)
	}
	res, err := judge.Check(policy.Default(), f)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

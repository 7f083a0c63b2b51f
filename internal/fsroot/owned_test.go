package fsroot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOwnedFilesAreReplacedAndRemovedOnlyWhenOurs: an install creates the
// file and its directory, a second sees the first's text, another program's
// file is neither replaced nor removed, and a killed install's temporary files
// go with the next install or uninstall, wherever they were written.
func TestOwnedFilesAreReplacedAndRemovedOnlyWhenOurs(t *testing.T) {
	dir := t.TempDir()
	o := Owned{Dir: dir, Rel: "qemu.d/hook", Marker: "# ours", TempDir: ".", Mode: 0o755}
	var seen []string
	var changed bool
	install := func(text string) error {
		var err error
		_, changed, err = o.Install(func(prev []byte) []byte {
			seen = append(seen, string(prev))
			return []byte("#!/bin/sh\n# ours\n" + text + "\n")
		})
		return err
	}
	if err := install("one"); err != nil || !changed {
		t.Fatal(err, changed)
	}
	if err := install("two"); err != nil || !changed {
		t.Fatal(err, changed)
	}
	before, _ := os.Stat(o.Path())
	// The same text again: nothing is written, and the caller is told.
	if err := install("two"); err != nil || changed {
		t.Errorf("a re-install of the same text: changed %v, %v", changed, err)
	}
	if after, _ := os.Stat(o.Path()); !os.SameFile(before, after) {
		t.Error("the same text was written again")
	}
	seen = seen[:2]
	if len(seen) != 2 || seen[0] != "" || !strings.Contains(seen[1], "one") {
		t.Errorf("what each install saw installed: %q", seen)
	}
	b, ours, st, err := o.Read()
	if err != nil || !ours || !strings.Contains(string(b), "two") || st.Mode().Perm() != 0o755 {
		t.Errorf("read: %q %v %v %v", b, ours, st, err)
	}
	for _, left := range []string{"qemu.d/.hook.nestvirt-1", ".hook.nestvirt-2"} {
		os.WriteFile(filepath.Join(dir, left), nil, 0o600)
	}
	if got := o.Leftovers(); len(got) != 2 {
		t.Errorf("leftovers: %v", got)
	}
	if _, removed, err := o.Uninstall(); err != nil || !removed {
		t.Errorf("uninstall: %v %v", removed, err)
	}
	if got := o.Leftovers(); len(got) != 0 {
		t.Errorf("leftovers after uninstall: %v", got)
	}
	if _, removed, err := o.Uninstall(); err != nil || removed {
		t.Errorf("a second uninstall: %v %v", removed, err)
	}
	os.WriteFile(o.Path(), []byte("#!/bin/sh\n# someone else's\n"), 0o755)
	if err := install("three"); !errors.Is(err, ErrNotOurs) {
		t.Errorf("another's file was replaced: %s", err)
	}
	if _, _, err := o.Uninstall(); !errors.Is(err, ErrNotOurs) {
		t.Errorf("another's file was removed: %s", err)
	}
	if b, _ := os.ReadFile(o.Path()); !strings.Contains(string(b), "someone else's") {
		t.Errorf("another's file changed: %q", b)
	}
	if b, ours, _, err := (Owned{Dir: filepath.Join(dir, "none"), Rel: "x", Marker: "m"}).Read(); b != nil || ours || err != nil {
		t.Errorf("nothing installed: %q %v %v", b, ours, err)
	}
}

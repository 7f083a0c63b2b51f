package report

import (
	"reflect"
	"testing"

	"github.com/nestvirt/nestvirt/internal/facts"
)

// celPaths lists the paths of a fact type as rules spell them; an OS is one
// fact (it is known or not as a whole), a nested struct adds its own path too.
func celPaths(prefix string, t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("cel")
		if tag == "" || tag == "-" {
			continue
		}
		p := prefix + "." + tag
		out = append(out, p)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[facts.OS]() {
			out = append(out, celPaths(p, f.Type)...)
		}
	}
	return out
}

// TestEveryFactHasAName: a verdict that rests on an unknown fact names the fact
// in words, whichever fact a rule reads.
func TestEveryFactHasAName(t *testing.T) {
	paths := celPaths("host", reflect.TypeFor[facts.Host]())
	paths = append(paths, celPaths("l0", reflect.TypeFor[facts.L0]())...)
	for _, l := range []string{"l1", "l2", "l3"} {
		paths = append(paths, celPaths(l, reflect.TypeFor[facts.Guest]())...)
	}
	if len(paths) < 40 {
		t.Fatalf("only %d paths: %v", len(paths), paths)
	}
	for _, p := range paths {
		if n := factName(p); n == p {
			t.Errorf("%s has no name in words", p)
		}
	}
	if got := FactNames([]string{"l2.os", "l2.os", "host.l0", "host.l0.os"}); got != "the L2's OS; the OS of the L0 below this guest (not visible from here: state it with --l0-os, or in /etc/nestvirt/host.yaml)" {
		t.Errorf("FactNames = %q", got)
	}
}

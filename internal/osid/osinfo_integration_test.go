//go:build integration

package osid

import "testing"

// TestEveryOsinfoShortIDParses reads the system's real osinfo-db (Debian's
// osinfo-db package; CI installs it) and parses every short id in it, checking
// that the kind nestvirt gives agrees with osinfo's family.
func TestEveryOsinfoShortIDParses(t *testing.T) {
	db := LoadOsinfo(OsinfoDirs)
	if len(db) < 500 {
		t.Fatalf("the system's osinfo-db holds %d OS names: install osinfo-db (apt-get install osinfo-db)", len(db))
	}
	for id, want := range db {
		o, err := Parse(id)
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if o.Kind != want.Kind {
			t.Errorf("%s: kind %s, osinfo-db says %s", id, o.Kind, want.Kind)
		}
		if o.String() == "" {
			t.Errorf("%s: no name", id)
		}
	}
}

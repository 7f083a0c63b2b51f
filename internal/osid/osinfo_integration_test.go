//go:build integration

package osid

import "testing"

// TestEveryOsinfoShortIDParses reads the system's real osinfo-db (Debian's
// osinfo-db package; CI installs it) and parses every short id in it, checking
// that the kind nestvirt gives agrees with osinfo's family.
func TestEveryOsinfoShortIDParses(t *testing.T) {
	db := LoadOsinfo(OsinfoDirs())
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

// TestEveryOsinfoShortIDIsFoundInAFewFiles: in the real osinfo-db, every short
// id is found among the files its leading letters point to, never by reading
// the whole db.
func TestEveryOsinfoShortIDIsFoundInAFewFiles(t *testing.T) {
	all := &osinfoDB{}
	names := all.names(OsinfoDirs())
	most := 0
	for id := range names {
		db := &osinfoDB{}
		if _, ok := db.lookup(OsinfoDirs(), id); !ok {
			t.Errorf("%s: not found", id)
		}
		if db.all {
			t.Errorf("%s: found only by reading the whole db", id)
		}
		most = max(most, db.reads)
	}
	if most*5 > all.reads {
		t.Errorf("a name read %d of the %d files", most, all.reads)
	}
	t.Logf("%d names in %d files; at most %d files read for one", len(names), all.reads, most)
}

package suggest

import (
	"strings"
	"testing"
	"time"
)

// full is the plain optimal-string-alignment distance, to check Distance's band.
func full(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			rows[i][j] = min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				rows[i][j] = min(rows[i][j], rows[i-2][j-2]+1)
			}
		}
	}
	return rows[len(a)][len(b)]
}

func TestDistanceAgreesWithTheFullTableUpToTheCut(t *testing.T) {
	words := []string{"", "a", "rhel10.0", "rhel10.O", "rhle10.0", "win2k22", "win2k19", "windows-server-2022", "ubuntu24.04", "migration", "migrates", "hyperv", "hyper-v", "nmae", "name"}
	for _, a := range words {
		for _, b := range words {
			want := full(a, b)
			for cut := 0; cut <= 6; cut++ {
				got := Distance(a, b, cut)
				if (want <= cut && got != want) || (want > cut && got != cut+1) {
					t.Errorf("Distance(%q, %q, %d) = %d; the full distance is %d", a, b, cut, got, want)
				}
			}
		}
	}
}

func TestNearest(t *testing.T) {
	cands := []string{"rhel10.0", "rhel9.6", "win2k22", "esxi", "name"}
	for in, want := range map[string]string{"rhel10.O": "rhel10.0", "RHEL10.0": "rhel10.0", "nmae": "name", "win2k2": "win2k22", "zzzzzz": "", "": ""} {
		if got := Nearest(in, cands); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHugeInputsCostNothing: a 16 MiB name against a thousand candidates.
func TestHugeInputsCostNothing(t *testing.T) {
	huge := strings.Repeat("x", 16<<20)
	cands := make([]string, 1000)
	for i := range cands {
		cands[i] = strings.Repeat("y", 1+i%40)
	}
	start := time.Now()
	if got := Nearest(huge, cands); got != "" {
		t.Errorf("a suggestion for 16 MiB: %q", got)
	}
	if d := Distance(huge, huge[:1000], 3); d != 4 {
		t.Errorf("distance %d", d)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("took %s", d)
	}
	if q := Quote(huge); len(q) > 100 || !strings.Contains(q, "16777216 bytes") {
		t.Errorf("Quote echoes %d bytes: %.100s", len(q), q)
	}
	if q := Quote(strings.Repeat("é", 40)); !strings.HasPrefix(q, `"éé`) || strings.Contains(q, "\\x") {
		t.Errorf("Quote cut a character: %s", q)
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("rhel10.0", "rhle10.0", 2)
	f.Add("", "abc", 1)
	f.Fuzz(func(t *testing.T, a, b string, cut int) {
		if len(a) > 200 || len(b) > 200 {
			return
		}
		cut = cut % 8
		if cut < 0 {
			cut = -cut
		}
		want := full(a, b)
		got := Distance(a, b, cut)
		if (want <= cut && got != want) || (want > cut && got != cut+1) {
			t.Fatalf("Distance(%q, %q, %d) = %d; the full distance is %d", a, b, cut, got, want)
		}
	})
}

func FuzzNearest(f *testing.F) {
	f.Add("rhel10.O")
	f.Add(strings.Repeat("a", 70))
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		got := Nearest(s, []string{"rhel10.0", "win2k22", "ubuntu24.04", "esxi", "hyper-v"})
		if len(s) > MaxLen && got != "" {
			t.Fatalf("a suggestion for %d bytes", len(s))
		}
		if time.Since(start) > time.Second {
			t.Fatalf("took %s", time.Since(start))
		}
	})
}

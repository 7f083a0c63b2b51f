//go:build corpora

package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/nestvirt/nestvirt/internal/corpus"
)

// normalize keeps letters and digits, so line breaks and list markers lost when the
// page was flattened do not matter, but every word must be there in order.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// The source text is read from beside the repository (package corpus).
func TestEveryQuoteOfTheRHELPageIsVerbatim(t *testing.T) {
	dir, err := corpus.Dir("seed")
	if err != nil {
		t.Fatal(err)
	}
	seeds, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(seeds) == 0 {
		t.Fatalf("no source text in %s: %v", dir, err)
	}
	data, err := os.ReadFile(seeds[0])
	if err != nil {
		t.Fatal(err)
	}
	page := normalize(string(data))
	p := Default()
	own := 0
	for id, s := range p.Sources {
		if s.Document != "" {
			continue // cites another document; rules.md records where it comes from
		}
		own++
		if !strings.Contains(page, normalize(s.Quote)) {
			t.Errorf("source %s: quote not in the RHEL page: %q", id, s.Quote)
		}
		if !strings.Contains(page, normalize(s.Section)) {
			t.Errorf("source %s: section %q not in the RHEL page", id, s.Section)
		}
	}
	if own < 10 {
		t.Errorf("only %d sources quote the RHEL page", own)
	}
}

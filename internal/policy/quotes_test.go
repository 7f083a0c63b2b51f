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

// squeeze removes white space, and nothing else: the page's text lost spaces
// around its inline code ("theL0hypervisor") and its line breaks when it was
// flattened, but every letter, digit, punctuation mark and its case is the
// page's own, and a quote must match them exactly.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// TestEveryQuoteOfTheRHELPageIsVerbatim: every source of the policy's own
// document is a quote, each passage of it is the page's exact words (in the
// order the source gives them), and its section is one of the page's; every
// other source is a summary with the url it is read at.
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
	page := squeeze(string(data))
	p := Default()
	own := 0
	for id, s := range p.Sources {
		if s.Document != "" {
			if len(s.Quote) > 0 || s.Summary == "" || s.URL == "" {
				t.Errorf("source %s (%s): another document is cited with a summary and its url, never quoted", id, s.Document)
			}
			continue
		}
		own++
		if len(s.Quote) == 0 {
			t.Errorf("source %s: the RHEL page is cited by its own words, not a summary", id)
		}
		at := 0
		for _, q := range s.Quote {
			i := strings.Index(page[at:], squeeze(q))
			if i < 0 {
				t.Errorf("source %s: not the page's words (or not in this order): %q", id, q)
				continue
			}
			at += i + len(squeeze(q))
		}
		if !strings.Contains(page, squeeze(s.Section)) {
			t.Errorf("source %s: section %q is not in the RHEL page", id, s.Section)
		}
	}
	if own < 10 {
		t.Errorf("only %d sources quote the RHEL page", own)
	}
}

// Package suggest finds the name a user probably meant ("did you mean"), in time
// bounded whatever the input: names longer than MaxLen get no suggestion, and
// the edit distance stops as soon as it passes the cut-off, so a 16 MiB string
// costs no more than a short one. It also quotes user input for messages
// without echoing more than a short prefix of it.
package suggest

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest input a suggestion is looked for: every name nestvirt
// knows (OS ids, keys, values) is far shorter.
const MaxLen = 64

// Nearest is the candidate closest to s, within max(1, len(s)/4) edits (a swap
// of two adjacent letters counts as one), or "" when none is that close. Case
// is ignored.
func Nearest(s string, candidates []string) string {
	if len(s) == 0 || len(s) > MaxLen {
		return ""
	}
	s = strings.ToLower(s)
	limit := max(1, len(s)/4)
	best, bestD := "", limit
	for _, c := range candidates {
		// Computed exactly up to the best so far; past it, bestD+1.
		d := Distance(s, strings.ToLower(c), bestD)
		if d < bestD || (d == bestD && (best == "" || c < best)) {
			best, bestD = c, d
		}
	}
	if bestD > limit {
		return ""
	}
	return best
}

// Distance is the optimal-string-alignment edit distance between a and b
// (Levenshtein's, with an adjacent swap as one edit), or cut+1 as soon as it is
// known to be more than cut: only a band of width 2*cut+1 is computed.
func Distance(a, b string, cut int) int {
	if cut < 0 {
		return 0
	}
	if d := len(a) - len(b); d > cut || -d > cut {
		return cut + 1
	}
	const big = 1 << 30
	// Three rows: the one before last (for swaps), the last, the current.
	pp, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
		if j > cut {
			prev[j] = big
		}
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-cut), min(len(b), i+cut)
		for j := range cur {
			cur[j] = big
		}
		if i <= cut {
			cur[0] = i
		}
		rowMin := cur[0]
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, pp[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > cut {
			return cut + 1
		}
		pp, prev, cur = prev, cur, pp
	}
	if prev[len(b)] > cut {
		return cut + 1
	}
	return prev[len(b)]
}

// QuoteMax is how much of a value a message repeats.
const QuoteMax = 64

// Quote quotes a value a user gave for a message: whole when short, else its
// first QuoteMax bytes (cut on a character boundary) and its length.
func Quote(s string) string {
	if len(s) <= QuoteMax {
		return fmt.Sprintf("%q", s)
	}
	cut := QuoteMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:cut], len(s))
}

package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Diff writes a unified diff of one file that patch(1) applies as it is: paths as
// a/NAME and b/NAME (patch -p1), /dev/null for a file that does not exist yet,
// lines split without inventing a last empty one, and "\ No newline at end of
// file" where a side lacks its final newline. difflib computes the hunks; its own
// writer adds a phantom line at the end, so the text is written here.
func Diff(w io.Writer, name string, before, after []byte, created bool) error {
	return diff(w, name, before, after, created, false)
}

// DiffRemove is Diff of a file that is removed: to /dev/null, which patch
// reads as a deletion.
func DiffRemove(w io.Writer, name string, before []byte) error {
	return diff(w, name, before, nil, false, true)
}

func diff(w io.Writer, name string, before, after []byte, created, removed bool) error {
	a, b := slices.Collect(strings.Lines(string(before))), slices.Collect(strings.Lines(string(after)))
	m := difflib.NewMatcher(a, b)
	groups := m.GetGroupedOpCodes(3)
	if len(groups) == 0 {
		return nil
	}
	name = strings.TrimPrefix(name, "/")
	from := "a/" + name
	if created {
		from = "/dev/null"
	}
	var sb strings.Builder
	to := "b/" + name
	if removed {
		to = "/dev/null"
	}
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", from, to)
	for _, g := range groups {
		first, last := g[0], g[len(g)-1]
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(first.I1, last.I2), hunkRange(first.J1, last.J2))
		for _, op := range g {
			switch op.Tag {
			case 'e':
				writeLines(&sb, " ", a[op.I1:op.I2])
			case 'r':
				writeLines(&sb, "-", a[op.I1:op.I2])
				writeLines(&sb, "+", b[op.J1:op.J2])
			case 'd':
				writeLines(&sb, "-", a[op.I1:op.I2])
			case 'i':
				writeLines(&sb, "+", b[op.J1:op.J2])
			}
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func writeLines(sb *strings.Builder, prefix string, lines []string) {
	for _, l := range lines {
		sb.WriteString(prefix)
		sb.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			sb.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

// hunkRange writes a range as unified diffs do: "start,count", with the start of
// an empty range being the line before it.
func hunkRange(start, stop int) string {
	n := stop - start
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

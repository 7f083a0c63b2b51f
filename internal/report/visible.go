package report

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Visible makes what others named (a domain, a host, a file, an OS string from
// a guest agent) safe to print on a terminal: control characters (C0, DEL, C1:
// a carriage return or an escape sequence could rewrite what is on screen) and
// the bidirectional controls (U+202E would reverse a row, so a name could fake
// another VM's line) are shown as escapes (\r, \x1b, \u202e), as are bytes that
// are not UTF-8. JSON keeps the names as they are; only text output uses this.
func Visible(s string) string {
	clean := true
	for _, r := range s {
		if hidden(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func hidden(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r == utf8.RuneError:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // the Unicode bidirectional formatting characters
	}
	return false
}

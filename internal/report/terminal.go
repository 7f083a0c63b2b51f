package report

import (
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/term"
)

// TerminalStyle decides how text written to w looks: colours with color
// "always", or with "auto" on a terminal whose TERM is not "dumb" when NO_COLOR
// is unset; the width of the terminal, or COLUMNS; plain ASCII where the
// locale is not UTF-8. getenv reads the environment.
func TerminalStyle(w io.Writer, getenv func(string) string, color string) Style {
	s := Style{ASCII: !utf8Locale(getenv)}
	if e, ok := w.(*ErrWriter); ok {
		w = e.W
	}
	f, isFile := w.(*os.File)
	tty := isFile && term.IsTerminal(int(f.Fd()))
	if tty {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			s.Width = w
		}
	}
	// COLUMNS, as shells and less set it, wins: it also sizes output piped to a pager.
	if c, err := strconv.Atoi(getenv("COLUMNS")); err == nil && c >= 40 && c <= 1000 {
		s.Width = c
	}
	switch color {
	case "always":
		s.Color = true
	case "auto":
		s.Color = tty && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
	}
	return s
}

// utf8Locale reads the locale as setlocale does: LC_ALL, then LC_CTYPE, then LANG.
func utf8Locale(getenv func(string) string) bool {
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if l := getenv(v); l != "" {
			l = strings.ToLower(l)
			return strings.Contains(l, "utf-8") || strings.Contains(l, "utf8")
		}
	}
	return false
}

// Package report renders results for people (text, colours on a terminal only) and
// for programs (JSON). It only writes to the writer it is given.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/policy"
)

// Style says how text output looks.
type Style struct {
	Color bool
	Width int // wrap width for prose; 0 means 100
}

const (
	reset  = "\x1b[0m"
	bold   = "\x1b[1m"
	dim    = "\x1b[2m"
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
)

var levelColor = map[policy.Level]string{
	policy.Supported:         green,
	policy.TechPreview:       cyan,
	policy.Unsupported:       yellow,
	policy.Untested:          yellow,
	policy.NotExpectedToWork: red,
	policy.DoesNotWork:       bold + red,
}

func (s Style) paint(code, text string) string {
	if !s.Color || code == "" {
		return text
	}
	return code + text + reset
}

// Level renders a level, coloured by severity.
func (s Style) Level(l policy.Level) string { return s.paint(levelColor[l], l.String()) }

func (s Style) width() int {
	if s.Width > 20 {
		return s.Width
	}
	return 100
}

// JSON writes v as indented JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// findings writes findings as rows: level and rule in columns, then the message,
// source and remedy wrapped beneath.
func (s Style) findings(w io.Writer, fs []policy.Finding, indent string) {
	for _, f := range fs {
		lv := s.Level(f.Level)
		pad := 22 - len(f.Level.String())
		if f.Informational {
			lv, pad = s.paint(dim, "info"), 18
		}
		fmt.Fprintf(w, "%s%s%s%s\n", indent, lv, strings.Repeat(" ", max(pad, 1)), f.Rule)
		in := indent + "    "
		s.wrap(w, in, "", f.Message)
		if f.Remedy != "" {
			s.wrap(w, in, s.paint(bold, "remedy: "), f.Remedy)
		}
		s.wrap(w, in, s.paint(dim, "source: "), f.Source)
	}
}

// wrap writes text word-wrapped after a label, continuation lines indented.
func (s Style) wrap(w io.Writer, indent, label, text string) {
	width := s.width() - len(indent)
	line, visible, empty := label, len(stripANSI(label)), true
	for _, word := range strings.Fields(text) {
		switch {
		case empty:
		case visible+1+len(word) > width:
			fmt.Fprintf(w, "%s%s\n", indent, line)
			line, visible = "  ", 2
		default:
			line += " "
			visible++
		}
		line += word
		visible += len(word)
		empty = false
	}
	fmt.Fprintf(w, "%s%s\n", indent, line)
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

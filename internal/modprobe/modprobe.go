// Package modprobe reads modprobe.d configuration the way modprobe(8) does, to say
// what a module's parameters will be at its next load, and from which line.
//
// modprobe reads every *.conf file of /etc/modprobe.d, /run/modprobe.d,
// /usr/local/lib/modprobe.d, /usr/lib/modprobe.d and /lib/modprobe.d; a file name in an
// earlier directory hides the same name in later ones; files are read in name order;
// the options of all "options MODULE ..." lines are passed in that order, so the last
// assignment of a parameter wins; "MODULE.param=value" on the kernel command line
// comes after them all. Module names treat "-" and "_" alike.
package modprobe

import (
	"fmt"
	"sort"
	"strings"
)

// Dirs are modprobe's configuration directories, highest precedence first.
var Dirs = []string{"etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"}

// MaxLine bounds one logical line; longer lines are reported and skipped.
const MaxLine = 64 << 10

// File is one configuration file's content.
type File struct {
	Path string // relative to the root, e.g. "etc/modprobe.d/kvm.conf"
	Data []byte
}

// Setting is one assignment of a module parameter.
type Setting struct {
	Module string // normalized: "-" as "_"
	Param  string
	Value  string
	File   string // "" for the kernel command line
	Line   int
}

func (s Setting) String() string {
	where := "kernel command line"
	if s.File != "" {
		where = fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return fmt.Sprintf("%s %s=%s (%s)", s.Module, s.Param, s.Value, where)
}

// Problem is a line modprobe would reject or that nestvirt cannot read.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Config is every options line of a configuration, in modprobe's order.
type Config struct {
	Settings []Setting
	Problems []Problem
}

// Normalize writes a module name as the kernel does.
func Normalize(module string) string { return strings.ReplaceAll(module, "-", "_") }

// Order sorts files into modprobe's reading order and drops those hidden by a file
// of the same name in a directory of higher precedence.
func Order(files []File) []File {
	rank := func(path string) int {
		for i, d := range Dirs {
			if strings.HasPrefix(path, d+"/") {
				return i
			}
		}
		return len(Dirs)
	}
	base := func(p string) string { return p[strings.LastIndex(p, "/")+1:] }
	best := map[string]File{}
	for _, f := range files {
		b := base(f.Path)
		if cur, ok := best[b]; !ok || rank(f.Path) < rank(cur.Path) {
			best[b] = f
		}
	}
	out := make([]File, 0, len(best))
	for _, f := range best {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return base(out[i].Path) < base(out[j].Path) })
	return out
}

// Parse reads files (already in modprobe's order) and the kernel command line.
func Parse(files []File, cmdline string) Config {
	var c Config
	for _, f := range files {
		parseFile(&c, f)
	}
	for _, word := range splitWords(cmdline) {
		k, v, ok := strings.Cut(word, "=")
		mod, param, dotted := strings.Cut(k, ".")
		if !ok || !dotted || mod == "" || param == "" {
			continue
		}
		c.Settings = append(c.Settings, Setting{Module: Normalize(mod), Param: param, Value: unquote(v)})
	}
	return c
}

func parseFile(c *Config, f File) {
	lines := strings.Split(string(f.Data), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := lines[i]
		// A backslash at the end continues the line.
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) && len(line) <= MaxLine {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + lines[i]
		}
		if len(line) > MaxLine {
			c.Problems = append(c.Problems, Problem{f.Path, start, fmt.Sprintf("line longer than %d bytes; skipped", MaxLine)})
			continue
		}
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		words := splitWords(t)
		if words == nil {
			c.Problems = append(c.Problems, Problem{f.Path, start, "unbalanced quotes; modprobe would misread this line"})
			continue
		}
		if words[0] != "options" {
			continue // alias, install, blacklist, softdep...: not parameters
		}
		if len(words) < 2 {
			c.Problems = append(c.Problems, Problem{f.Path, start, "options without a module name"})
			continue
		}
		mod := Normalize(words[1])
		for _, w := range words[2:] {
			k, v, _ := strings.Cut(w, "=")
			if k == "" {
				c.Problems = append(c.Problems, Problem{f.Path, start, fmt.Sprintf("malformed option %q", w)})
				continue
			}
			c.Settings = append(c.Settings, Setting{Module: mod, Param: k, Value: unquote(v), File: f.Path, Line: start})
		}
	}
}

// splitWords splits on blanks, keeping double-quoted runs together as modprobe
// does for option values. It returns nil for unbalanced quotes.
func splitWords(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			cur.WriteRune(r)
			inWord = true
		case (r == ' ' || r == '\t') && !inQuote:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inQuote {
		return nil
	}
	if inWord {
		out = append(out, cur.String())
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func unquote(v string) string { return strings.ReplaceAll(v, `"`, "") }

// Effective returns the last assignment of module.param, the one the kernel will
// use at the next load, and every assignment of it (to show conflicts).
func (c Config) Effective(module, param string) (last *Setting, all []Setting) {
	module = Normalize(module)
	for i := range c.Settings {
		s := c.Settings[i]
		if s.Module == module && s.Param == param {
			all = append(all, s)
		}
	}
	if len(all) > 0 {
		last = &all[len(all)-1]
	}
	return last, all
}

// Bool reads a parameter value as the kernel and libvirt do: a first character of
// Y, y or 1 is true; N, n or 0 is false; anything else is unknown.
func Bool(v string) (value, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return false, false
	}
	switch v[0] {
	case 'Y', 'y', '1':
		return true, true
	case 'N', 'n', '0':
		return false, true
	}
	return false, false
}

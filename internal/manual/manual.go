// Package manual holds what nestvirt's commands say of themselves: each
// command's description, one text file per command, shown by --help and
// written into the man pages (tools/gendocs reads them through the command
// tree). Prose lives here, not in the code that wires the commands, so that
// it is read, reviewed and corrected as text.
package manual

import (
	"embed"
	"strings"
)

//go:embed *.txt
var texts embed.FS

// Long is the description of the command named (its file, name.txt), with each
// pair of oldnew replaced: old a {{placeholder}} of the text, new what the code
// knows (an example file, a list of values). A placeholder alone on its line
// indents each line of its value as far as it is indented. A name without a
// text is a programming error, which the tests building the command tree find.
func Long(name string, oldnew ...string) string {
	b, err := texts.ReadFile(name + ".txt")
	if err != nil {
		panic("manual: no text for " + name)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for i := 0; i+1 < len(oldnew); i += 2 {
		for j, l := range lines {
			if t := strings.TrimLeft(l, " \t"); t == oldnew[i] {
				pre := l[:len(l)-len(t)]
				lines[j] = pre + strings.ReplaceAll(strings.TrimSuffix(oldnew[i+1], "\n"), "\n", "\n"+pre)
			}
		}
	}
	s := strings.Join(lines, "\n")
	if len(oldnew) > 0 {
		s = strings.NewReplacer(oldnew...).Replace(s)
	}
	return s
}

// Names are the commands described here.
func Names() []string {
	ents, _ := texts.ReadDir(".")
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".txt"))
	}
	return out
}

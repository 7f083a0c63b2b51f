package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cobra/doc renders a command's Long text and flag usages as Markdown (through
// md2man), but nestvirt writes them as plain text for the terminal: a "<cpu>"
// would vanish as an HTML tag and an indented example would be reflowed. So the
// pages get a Markdown spelling of the same text: indented lines become fenced
// blocks, kept as they are; everything else is escaped.

// asMarkdown rewrites every command's help texts in place, for the man pages only.
func asMarkdown(cmd *cobra.Command) {
	cmd.Long = markdown(cmd.Long)
	cmd.Short = escape(cmd.Short)
	cmd.Flags().VisitAll(func(f *pflag.Flag) { f.Usage = escape(f.Usage) })
	cmd.PersistentFlags().VisitAll(func(f *pflag.Flag) { f.Usage = escape(f.Usage) })
	for _, c := range cmd.Commands() {
		asMarkdown(c)
	}
}

// markdown turns plain text into Markdown that renders as the same text.
func markdown(s string) string {
	var b strings.Builder
	fenced := false
	for _, line := range strings.Split(s, "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		switch {
		case indented && !fenced:
			b.WriteString("\n```\n")
			fenced = true
		case !indented && fenced:
			b.WriteString("```\n")
			fenced = false
		}
		if fenced {
			b.WriteString(line)
		} else {
			b.WriteString(escape(line))
		}
		b.WriteByte('\n')
	}
	if fenced {
		b.WriteString("```\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// escape backslash-escapes what Markdown would read as markup.
func escape(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '_', '<', '>', '[', ']', '#', '|':
			b.WriteByte('\\')
		case '-', '+':
			// a list item, where a line begins with one and a space
			if strings.TrimSpace(s[:i]) == "" && strings.HasPrefix(s[i+1:], " ") {
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

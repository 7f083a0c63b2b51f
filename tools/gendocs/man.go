package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nestvirt/nestvirt/internal/cli"
)

// man writes a command's page. cobra/doc's GenMan has no EXIT STATUS, FILES or
// extra SEE ALSO, and renders a boolean flag as --help[=false]; this writes the
// same Markdown through the same md2man, with those sections added.
func man(cmd *cobra.Command, version string, date time.Time) []byte {
	cmd.InitDefaultHelpFlag()
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	var b bytes.Buffer
	fmt.Fprintf(&b, "%% \"%s\" \"1\" \"%s\" \"nestvirt %s\" \"nestvirt manual\"\n", strings.ToUpper(strings.ReplaceAll(name, "-", "\\-")), date.Format("Jan 2006"), version)
	fmt.Fprintf(&b, "# NAME\n%s \\- %s\n\n", name, cmd.Short)
	fmt.Fprintf(&b, "# SYNOPSIS\n**%s**\n\n", escape(cmd.UseLine()))
	desc := cmd.Long
	if desc == "" {
		desc = cmd.Short
	}
	fmt.Fprintf(&b, "# DESCRIPTION\n%s\n\n", desc)
	if fs := cmd.NonInheritedFlags(); fs.HasAvailableFlags() {
		b.WriteString("# OPTIONS\n")
		flags(&b, fs)
	}
	if fs := cmd.InheritedFlags(); fs.HasAvailableFlags() {
		b.WriteString("# OPTIONS INHERITED FROM PARENT COMMANDS\n")
		flags(&b, fs)
	}
	if cmd.Example != "" {
		fmt.Fprintf(&b, "# EXAMPLES\n```\n%s\n```\n\n", cmd.Example)
	}
	if cmd.Runnable() {
		b.WriteString("# EXIT STATUS\n")
		for _, e := range cli.ExitStatus() {
			fmt.Fprintf(&b, "**%d**\n:   %s\n\n", e.Code, escape(e.Meaning))
		}
	}
	extra := pages[cmd.CommandPath()]
	if len(extra.files) > 0 {
		b.WriteString("# FILES\n")
		for _, f := range extra.files {
			fmt.Fprintf(&b, "*%s*\n:   %s\n\n", escape(f[0]), escape(f[1]))
		}
	}
	if len(extra.env) > 0 {
		b.WriteString("# ENVIRONMENT\n")
		for _, e := range extra.env {
			fmt.Fprintf(&b, "**%s**\n:   %s\n\n", escape(e[0]), escape(e[1]))
		}
	}
	var see []string
	if cmd.HasParent() {
		see = append(see, strings.ReplaceAll(cmd.Parent().CommandPath(), " ", "-")+"(1)")
	}
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() {
			see = append(see, name+"-"+c.Name()+"(1)")
		}
	}
	for _, s := range extra.seeAlso {
		if !slices.Contains(see, s) {
			see = append(see, s)
		}
	}
	if len(see) > 0 {
		b.WriteString("# SEE ALSO\n")
		for i, s := range see {
			if i > 0 {
				b.WriteString(", ")
			}
			p := strings.Index(s, "(")
			fmt.Fprintf(&b, "**%s**%s", escape(s[:p]), s[p:])
		}
		b.WriteString("\n")
	}
	return md2man.Render(b.Bytes())
}

// flags lists a flag set: a boolean flag is written alone (it takes no value),
// another with its default when it has one.
func flags(b *bytes.Buffer, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		head := "**--" + escape(f.Name) + "**"
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			head = "**-" + f.Shorthand + "**, " + head
		}
		switch t := f.Value.Type(); {
		case t == "bool" && f.NoOptDefVal == "true":
			if f.DefValue == "true" {
				head += " (on by default; **--" + escape(f.Name) + "=false** turns it off)"
			}
		case f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "0s":
			head += "=*" + escape(f.DefValue) + "*"
		default:
			head += "=*" + t + "*"
		}
		fmt.Fprintf(b, "%s\n:   %s\n\n", head, f.Usage)
	})
}

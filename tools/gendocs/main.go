// Command gendocs writes what is generated from nestvirt's commands: a man page
// per command (cobra/doc), the man pages of the file formats (docs/man/*.5), and
// the bash, zsh and fish completions. scripts/package.sh runs it. It lives in the
// tools module (tools/go.mod), with the dependencies only packaging needs.
//
//	go -C tools run ./gendocs -out DIR -version V -date 2006-01-02
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/cli"
)

func main() {
	out := flag.String("out", "dist/docs", "where to write man/ and completions/")
	version := flag.String("version", "dev", "the version the pages name")
	date := flag.String("date", "", "the date the pages carry (YYYY-MM-DD; SOURCE_DATE_EPOCH or today by default)")
	pages := flag.String("pages", "docs/man", "the directory of the hand-written pages (*.5)")
	flag.Parse()
	when := time.Now().UTC()
	if epoch := os.Getenv("SOURCE_DATE_EPOCH"); epoch != "" && *date == "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			log.Fatalf("SOURCE_DATE_EPOCH: %v", err)
		}
		when = time.Unix(sec, 0).UTC()
	}
	if *date != "" {
		t, err := time.Parse("2006-01-02", *date)
		if err != nil {
			log.Fatalf("-date: %v", err)
		}
		when = t
	}
	man := filepath.Join(*out, "man")
	comp := filepath.Join(*out, "completions")
	for _, d := range []string{man, comp} {
		// Start empty: a page of a command since removed must not linger.
		if err := os.RemoveAll(d); err != nil {
			log.Fatal(err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			log.Fatal(err)
		}
	}
	root := cli.Command()
	root.DisableAutoGenTag = true
	asMarkdown(root)
	if err := manTree(root, *version, when, man); err != nil {
		log.Fatal(err)
	}
	// The file formats are written by hand.
	formats, err := filepath.Glob(filepath.Join(*pages, "*.5"))
	if err != nil || len(formats) == 0 {
		log.Fatalf("no hand-written pages in %s", *pages)
	}
	for _, p := range formats {
		b, err := os.ReadFile(p)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(man, filepath.Base(p)), stampTH(b, *version, when), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	for name, gen := range map[string]func(string) error{
		"nestvirt.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
		"_nestvirt":     root.GenZshCompletionFile,
		"nestvirt.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
	} {
		if err := gen(filepath.Join(comp, name)); err != nil {
			log.Fatal(err)
		}
	}
}

// manTree writes the page of cmd and of every command below it.
func manTree(cmd *cobra.Command, version string, date time.Time, dir string) error {
	if !cmd.IsAvailableCommand() && cmd.HasParent() {
		return nil
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-") + ".1"
	if err := os.WriteFile(filepath.Join(dir, name), man(cmd, version, date), 0o644); err != nil {
		return err
	}
	for _, c := range cmd.Commands() {
		if err := manTree(c, version, date, dir); err != nil {
			return err
		}
	}
	return nil
}

// thLine is a hand-written page's title line.
var thLine = regexp.MustCompile(`(?m)^\.TH (\S+) (\S+) .*$`)

// stampTH gives a hand-written page the date and version the generated pages
// carry: every page of one package says the same.
func stampTH(page []byte, version string, date time.Time) []byte {
	return thLine.ReplaceAll(page, []byte(fmt.Sprintf(`.TH $1 $2 "%s" "nestvirt %s" "nestvirt manual"`, date.Format("Jan 2006"), version)))
}

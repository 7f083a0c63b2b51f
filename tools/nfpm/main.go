// Command nfpm builds one package of nestvirt with nfpm (as a library, pinned in
// tools/go.mod, so nestvirt's own go.mod does not carry it) from deploy/packages/nfpm.yaml; scripts/package.sh runs it per
// architecture and format.
//
//	go -C tools build -o nfpm ./nfpm && ./nfpm -config deploy/packages/nfpm.yaml -packager rpm -target dist/
//
// It does one thing nfpm's own command does not: entries of type "doc" may be
// globs. nfpm takes a doc entry as one file, and ships doc entries only in RPMs
// (where they are marked %doc); here a doc glob becomes one entry per file, and
// in a DEB a plain file, so both formats ship the same man pages and examples.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"
)

func main() {
	config := flag.String("config", "deploy/packages/nfpm.yaml", "the nfpm configuration")
	packager := flag.String("packager", "", "rpm or deb")
	target := flag.String("target", "dist", "the directory to write the package into")
	changelog := flag.String("changelog", "", "a changelog in chglog's format (nfpm does not expand variables in its path)")
	flag.Parse()
	out, err := build(*config, *packager, *changelog, *target)
	if err != nil {
		log.Fatalf("nfpm: %v", err)
	}
	fmt.Println(out)
}

func build(config, packager, changelog, target string) (string, error) {
	var p nfpm.Packager
	switch packager {
	case "rpm":
		p = rpm.DefaultRPM
	case "deb":
		p = deb.Default
	default:
		return "", fmt.Errorf("-packager: %q is not rpm or deb", packager)
	}
	cfg, err := nfpm.ParseFile(config)
	if err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	info, err := cfg.Get(packager)
	if err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	if changelog != "" {
		info.Changelog = changelog
	}
	info = nfpm.WithDefaults(info)
	if info.Contents, err = expandDocs(info.Contents, packager); err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	info.Target = filepath.Join(target, p.ConventionalFileName(info))
	// Written beside its final name and renamed: no half package under that name.
	tmp, err := os.CreateTemp(target, ".nfpm-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := p.Package(info, tmp); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	return info.Target, os.Rename(tmp.Name(), info.Target)
}

// expandDocs gives each file a doc glob matches its own entry (into the glob's
// destination directory), a doc for RPM and a plain file for DEB.
func expandDocs(contents files.Contents, packager string) (files.Contents, error) {
	var out files.Contents
	for _, c := range contents {
		if c.Type != files.TypeRPMDoc {
			out = append(out, c)
			continue
		}
		srcs := []string{c.Source}
		dst := func(string) string { return c.Destination }
		if strings.ContainsAny(c.Source, "*?[") {
			var err error
			if srcs, err = filepath.Glob(c.Source); err != nil || len(srcs) == 0 {
				return nil, fmt.Errorf("doc %s: matches no file", c.Source)
			}
			dst = func(src string) string { return path.Join(c.Destination, filepath.Base(src)) }
		}
		for _, src := range srcs {
			e := *c
			e.Source, e.Destination = src, dst(src)
			if packager != "rpm" {
				e.Type = files.TypeFile
			}
			out = append(out, &e)
		}
	}
	return out, nil
}

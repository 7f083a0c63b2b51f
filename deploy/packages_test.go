package deploy

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yaml "github.com/goccy/go-yaml"
)

// TestTheReadmesLinksArePackaged: the README installed in /usr/share/doc
// linked to docs and images the package did not ship. Every relative link of
// the README is a file the packages install at that path beside it
// (scripts/test-packages.sh follows them in the installed tree as well).
func TestTheReadmesLinksArePackaged(t *testing.T) {
	b, err := os.ReadFile("packages/nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Contents []struct{ Src, Dst, Type string }
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	const doc = "/usr/share/doc/nestvirt/"
	installed := map[string]bool{}
	for _, c := range cfg.Contents {
		if !strings.HasPrefix(c.Dst, doc) || strings.Contains(c.Src, "${") || c.Type == "symlink" {
			continue
		}
		srcs, _ := filepath.Glob(filepath.Join("..", c.Src))
		for _, s := range srcs {
			dst := c.Dst
			if strings.HasSuffix(dst, "/") {
				dst += filepath.Base(s)
			}
			installed[strings.TrimPrefix(dst, doc)] = true
		}
	}
	// A link installed as a symlink is there when what it points to is.
	for _, c := range cfg.Contents {
		if c.Type == "symlink" && strings.HasPrefix(c.Dst, doc) && installed[strings.TrimPrefix(path.Join(path.Dir(c.Dst), c.Src), doc)] {
			installed[strings.TrimPrefix(c.Dst, doc)] = true
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(string(readme), -1)
	if len(links) < 5 {
		t.Fatalf("only %d links found", len(links))
	}
	for _, l := range links {
		if !installed[path.Clean(l[1])] {
			t.Errorf("the README links to %s, which the package does not install beside it", l[1])
		}
	}
}

package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
)

// hostYAMLExample is a host.yaml snippet in prose: "host.yaml (l0: {os:
// rhel10.0})", "host.yaml (`migration: false`, `l0: {os: rhel10.0}`)".
var hostYAMLExample = regexp.MustCompile(`host\.yaml\)?[^()\n]{0,12}\(([^()]*?)\)`)

// TestEveryHostYAMLExampleLoads: the man pages told admins to write l0_os in
// /etc/nestvirt/host.yaml, and that file then made every check exit 2. Every
// host.yaml example in the documentation (README, docs, the man pages nestvirt
// ships by hand, every command's help, every rule's message and remedy) is
// parsed as the loader parses the file.
func TestEveryHostYAMLExampleLoads(t *testing.T) {
	texts := map[string]string{"stated.HostConfigExample": stated.HostConfigExample, "stated.HostConfigKeys": stated.HostConfigKeys}
	files, _ := filepath.Glob("../../docs/*.md")
	man, _ := filepath.Glob("../../docs/man/*")
	for _, f := range append(append(files, man...), "../../README.md", "../../deploy/packages/README.md", "../../deploy/kubernetes/README.md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[f] = string(b)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		texts["nestvirt "+c.CommandPath()+" --help"] = c.Long
		c.Flags().VisitAll(func(f *pflag.Flag) { texts[c.CommandPath()+" --"+f.Name] = f.Usage })
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(Command())
	for _, r := range policy.Default().Rules {
		texts["rule "+r.ID] = r.Message + " " + r.Remedy
	}
	found := 0
	for where, text := range texts {
		flat := strings.Join(strings.Fields(text), " ")
		if i := strings.Index(flat, "l0_os"); i >= 0 && strings.Contains(flat[max(0, i-120):min(len(flat), i+120)], "host.yaml") {
			t.Errorf("%s names the key l0_os beside host.yaml: the file's key is l0: {os: ...}", where)
		}
		for _, m := range hostYAMLExample.FindAllStringSubmatch(flat, -1) {
			snippet := strings.ReplaceAll(m[1], "`", "")
			if !strings.Contains(snippet, ": ") {
				continue // "(the file)", not an example
			}
			found++
			t.Logf("%s: %s", where, snippet)
			if _, err := stated.Parse(where, []byte("{"+snippet+"}")); err != nil {
				t.Errorf("%s: the example %q does not load: %v", where, m[1], err)
			}
		}
		if where == "stated.HostConfigExample" {
			found++
			if _, err := stated.Parse(where, []byte(text)); err != nil {
				t.Errorf("the example file does not load: %v", err)
			}
		}
	}
	if found < 5 {
		t.Errorf("only %d host.yaml examples found: the test reads nothing", found)
	}
	t.Logf("%d host.yaml examples load", found)
}

package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/manual"
)

// Every text of the manual is some command's description, and no description
// keeps a placeholder the code did not fill.
func TestEveryManualTextDescribesACommand(t *testing.T) {
	var longs []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if strings.Contains(c.Long, "{{") {
			t.Errorf("%s: a placeholder is left in its description", c.CommandPath())
		}
		longs = append(longs, c.Long)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(Command())
	for _, name := range manual.Names() {
		head, _, _ := strings.Cut(manual.Long(name), "{{")
		used := false
		for _, l := range longs {
			used = used || strings.Contains(l, head)
		}
		if !used {
			t.Errorf("internal/manual/%s.txt describes no command", name)
		}
	}
}

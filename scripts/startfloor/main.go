// Command startfloor is the start-up floor of a binary built on nestvirt's
// libraries: cobra and cel-go linked, nothing run. scripts/bench-check.sh times
// it beside `nestvirt version` and a Go hello-world, so docs/PERFORMANCE.md shows
// what package initialisation alone costs before nestvirt does anything.
package main

import (
	"fmt"

	"cel.dev/cel-go/cel"
	"github.com/spf13/cobra"
)

// keep makes the linker keep cel's packages, whose initialisation is measured.
var keep = cel.NewEnv

func main() {
	root := &cobra.Command{Use: "startfloor"}
	root.AddCommand(&cobra.Command{Use: "version", Run: func(*cobra.Command, []string) { fmt.Println("startfloor", keep != nil) }})
	root.Execute()
}

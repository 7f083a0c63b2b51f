// Command validatedoc checks a nestvirt JSON document against its schema:
// validatedoc KIND FILE (check, vms, plan, matrix). Scripts that run nestvirt
// where Go's tests cannot (under Wine) use it.
package main

import (
	"fmt"
	"os"

	"github.com/nestvirt/nestvirt/schema/schematest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: validatedoc KIND FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := schematest.Validate(os.Args[1], data); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[2], err)
		os.Exit(1)
	}
}

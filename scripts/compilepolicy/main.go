// Command compilepolicy regenerates policies/*.compiled.json: each embedded policy,
// validated, with the checked CEL trees of its expressions, so nestvirt starts
// without parsing YAML or CEL (see internal/policy/compiled.go). Run it after
// changing a policy file; TestCompiledPolicyIsFresh fails until you do.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/nestvirt/nestvirt/internal/policy"
)

func main() {
	for _, name := range policy.EmbeddedNames() {
		p, err := policy.Embedded(name)
		if err != nil {
			log.Fatalf("compilepolicy: %s: %v", name, err)
		}
		data, err := policy.BuildCompiled(p)
		if err != nil {
			log.Fatalf("compilepolicy: %s: %v", name, err)
		}
		out := filepath.Join("policies", policy.CompiledName(name))
		if err := os.WriteFile(out, append(data, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s", out)
	}
}

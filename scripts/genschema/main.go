// Command genschema writes schema/*.v1.json from the Go definitions of
// nestvirt's documents (package schemagen says how). Run it from the module's
// root after changing a document's type: go run ./scripts/genschema
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/nestvirt/nestvirt/schema/schemagen"
)

func main() {
	files, err := schemagen.Generate(schemagen.Nestvirt(), ".")
	if err != nil {
		log.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join("schema", name), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("wrote %d schema files", len(files))
}

package schemagen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestTheSchemasAreTheGoDefinitions: schema/*.v1.json are what the Go types of
// the documents generate; change a type, then run go run ./scripts/genschema.
func TestTheSchemasAreTheGoDefinitions(t *testing.T) {
	files, err := Generate(Nestvirt(), "../..")
	if err != nil {
		t.Fatal(err)
	}
	committed, _ := filepath.Glob("../*.v1.json")
	if len(committed) != len(files) {
		t.Errorf("schema/ holds %d files; the types generate %d", len(committed), len(files))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("schema/%s is not what the Go types generate (go run ./scripts/genschema): %v", name, err)
		}
	}
}

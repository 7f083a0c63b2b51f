// Package corpus finds the corpora nestvirt is tested against but does not hold:
// the RHEL page the policy quotes (seed/) and real machines and domain XML from
// other projects' test suites (conformance/). Their licences differ from
// nestvirt's, so they stay beside the repository and are never copied in.
//
// The tests that read them carry the build tag "corpora". scripts/test.sh sets it
// when the corpora are there, says in one line when they are not, and fails when
// NESTVIRT_CORPORA_REQUIRED is set (as CI sets it); a plain `go test ./...` never
// compiles those tests.
package corpus

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Env names the directory that holds seed/ and conformance/; unset, it is
// ../shared beside the repository, where CI puts it.
const Env = "NESTVIRT_CORPORA"

// Dir is sub (a slash path such as "conformance/virt-what") under the corpora,
// or an error saying where it was looked for.
func Dir(sub string) (string, error) {
	base := os.Getenv(Env)
	if base == "" {
		top, err := repoRoot()
		if err != nil {
			return "", err
		}
		base = filepath.Join(filepath.Dir(top), "shared")
	}
	dir := filepath.Join(base, filepath.FromSlash(sub))
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("the corpus %s is not at %s (set %s to the directory holding seed/ and conformance/): %w", sub, dir, Env, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s: not a directory", dir)
	}
	return dir, nil
}

// repoRoot is the directory of nestvirt's go.mod, found upwards from the working
// directory (a test runs in its package's directory).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/nestvirt/nestvirt\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("nestvirt's go.mod is not above the working directory")
		}
		dir = parent
	}
}

// Package policies holds the policy files built into nestvirt.
package policies

import "embed"

// FS holds every embedded policy file, by file name.
//
//go:embed *.yaml *.compiled.json
var FS embed.FS

// The *.compiled.json files are derived: the checked CEL trees of each policy's
// expressions, so `nestvirt check` starts without parsing them. Regenerate with
// `go run ./scripts/compilepolicy` after changing a policy; a test fails when stale.

// Default is the file name of the policy used when none is chosen.
const Default = "rhel-10.yaml"

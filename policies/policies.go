// Package policies holds the policy files built into nestvirt.
package policies

import "embed"

// FS holds every embedded policy file, by file name.
//
//go:embed *.yaml
var FS embed.FS

// Default is the file name of the policy used when none is chosen.
const Default = "rhel-10.yaml"

// Command nestvirt judges nested virtualization against Red Hat's documented support
// limitations: planned deployments, the machine it runs on, and libvirt hosts.
package main

import (
	"os"

	"github.com/nestvirt/nestvirt/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

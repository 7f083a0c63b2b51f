// Package machine gathers the facts of the machine a probe.Root holds, from the
// source its kind needs: a Linux machine's files (package linux), or Windows'
// registry, WMI and WSL (package windows), live or from a snapshot.
package machine

import (
	"time"

	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/linux"
	"github.com/nestvirt/nestvirt/internal/probe/snapshot"
	"github.com/nestvirt/nestvirt/internal/probe/windows"
)

// Probe probes root as `nestvirt check` does: the running machine for "/" (with
// the CPUID of the CPU it runs on), a snapshot or report otherwise. The error,
// when not nil, is a *stated.Error: a host.yaml that could not be used (its
// facts unknown; the rest is gathered).
func Probe(root *probe.Root) (probe.Facts, error) {
	if root.Live() {
		if src, ok := windows.Live(); ok {
			// Windows' facts are in its registry, WMI and WSL, not in files;
			// ReadLive, because virt_ext comes from CPUID there.
			return windows.Probe(src, probe.ReadLive())
		}
		return linux.ProbeRoot(root)
	}
	if windows.IsSnapshot(root) {
		return windows.ProbeSnapshot(root)
	}
	return linux.ProbeRoot(root)
}

// Snapshot probes the running machine and collects the snapshot of it.
func Snapshot(version string, now time.Time) (*snapshot.Files, error) {
	if src, ok := windows.Live(); ok {
		return windows.Snapshot(src, version, now)
	}
	return snapshot.Take(version, now)
}

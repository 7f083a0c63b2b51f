// Package buildinfo is what nestvirt knows of its own build: the stamps
// scripts/package.sh sets with -ldflags "-X", or the module's VCS stamps of a
// plain `go build`.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Build stamps, set by scripts/package.sh with -ldflags "-X": the version
// (VERSION, with the commit and "dirty" for an unreleased tree), the commit and
// the build date. A plain `go build` leaves them empty, and the module's VCS
// stamps (runtime/debug.ReadBuildInfo) stand in.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Stamp is the build as the binary knows it.
type Stamp struct {
	Version, Commit, Date, Go string
	Dirty                     bool
}

// Read returns the linker's stamps, completed by the module's VCS stamps.
func Read() Stamp {
	s := Stamp{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range info.Settings {
			switch kv.Key {
			case "vcs.revision":
				if s.Commit == "" {
					s.Commit = kv.Value
				}
			case "vcs.time":
				if s.Date == "" {
					s.Date = kv.Value
				}
			case "vcs.modified":
				s.Dirty = kv.Value == "true"
			}
		}
	}
	if strings.Contains(s.Version, "dirty") {
		s.Dirty = true
	}
	return s
}

// Line is the first line of `nestvirt version` and all of --version.
func Line() string {
	s := Read()
	commit := s.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown commit"
	} else if s.Dirty && !strings.Contains(s.Version, "dirty") {
		commit += ", modified"
	}
	date := s.Date
	if date == "" {
		date = "unknown date"
	}
	return fmt.Sprintf("nestvirt %s (%s, built %s, %s, %s/%s)", s.Version, commit, date, s.Go, runtime.GOOS, runtime.GOARCH)
}

package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Build stamps, set by scripts/package.sh with -ldflags "-X": the version
// (VERSION, with the commit and "dirty" for an unreleased tree), the commit and the
// build date. A plain `go build` leaves them empty, and the module's VCS stamps
// (runtime/debug.ReadBuildInfo) stand in.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// buildStamp is what nestvirt knows of its own build.
type buildStamp struct {
	Version, Commit, Date, Go string
	Dirty                     bool
}

func stamp() buildStamp {
	s := buildStamp{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version()}
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

// versionLine is the first line of `nestvirt version` and all of --version.
func versionLine() string {
	s := stamp()
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

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nestvirt's version, commit, build date, Go version and the policy it judges with",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.policy()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s\npolicy %s: %s\n", versionLine(), p.Name, p.Title)
			return nil
		},
	}
}

//go:build !windows

package windows

// Live: this machine is not Windows.
func Live() (Source, bool) { return nil, false }

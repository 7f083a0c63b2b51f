//go:build !linux

package fsroot

// swap is Linux's renameat2; elsewhere the caller renames plainly.
func (d *Dir) swap(a, b string, noReplace bool) (bool, error) { return false, nil }

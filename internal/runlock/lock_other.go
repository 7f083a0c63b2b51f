//go:build !unix

package runlock

import "time"

// Take: nestvirt edits no libvirt domain and no modprobe.d where there is no
// Unix (the Windows build reads its own machine only), so there is nothing to
// take turns on.
func Take(dir, name string, timeout time.Duration) (unlock func(), err error) {
	return func() {}, nil
}

package cli

import (
	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// daemon is what the commands ask of libvirt (libvirt.Daemon): the real daemon
// or, in tests, a replay that answers the same way.
type daemon = libvirt.Daemon

// dialer is how a opens a daemon: its own dial (a recorded daemon in tests) or
// libvirt's.
func (a *app) dialer() func(libvirt.Options) (daemon, error) {
	if a.dial != nil {
		return a.dial
	}
	return func(o libvirt.Options) (daemon, error) {
		c, err := libvirt.Connect(o)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return c, nil
	}
}

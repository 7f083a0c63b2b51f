package cli

import (
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// daemon is what the commands ask of libvirt: the real daemon (*libvirt.Conn) or,
// in tests, a fake that answers the same way.
type daemon interface {
	Domains() ([]libvirt.Domain, error)
	Lookup(name string) (libvirt.Domain, error)
	ReadAll(workers int) ([]domxml.Record, error)
	HostModel() func(arch, feature string) (bool, error)
	Edit(name string, o libvirt.EditOptions, fn func(raw []byte) (domxml.Result, error)) (libvirt.Change, error)
	Annotate(name, runs string, l2 []string, osName string) (domxml.Annotation, error)
	AskAgents(recs []domxml.Record, workers int)
	// Host is the daemon's host CPU, from its capabilities.
	Host() (libvirt.HostCPU, error)
	// Where is the daemon's URI, and whether it was reached on a local socket.
	Where() (uri string, local bool)
	Close() error
}

var _ daemon = (*libvirt.Conn)(nil)

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

// Package expose is nestvirt's change to a VM's definition: expose gives the
// guest the virtualization extension of the host it runs on, unexpose puts
// back what expose replaced. On a file, the host is this machine or a snapshot
// of it (or the vendor given); on a libvirt daemon, it is the daemon's host as
// audit.HostOf finds it, and judge.Exposable must let the change go on before
// anything is defined.
package expose

import (
	"fmt"
	"io"

	"github.com/nestvirt/nestvirt/internal/audit"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/inspect"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Options say which change and on what host's terms.
type Options struct {
	Undo   bool   // unexpose
	Arch   string // a file's guest arch; "" reads it from the XML
	Vendor string // a file's host CPU vendor, intel or amd; "" is the host's
	Hyperv string // Hyper-V enlightenments: auto, on or off
	// Root is the snapshot standing for the host ("/" for this machine);
	// Facts reads it (a host.yaml that is not valid, a *stated.Error inside
	// its error, costs only what it states).
	Root  string
	Facts func(root string) (probe.Facts, error)
}

// Said is what a change has to say besides its result: notes on the host it
// was decided by, and warnings it went on with.
type Said struct {
	HostNotes []string
	Warnings  []string
}

// ReadFile reads a domain definition to edit: the file, or r for "-".
func ReadFile(file string, r io.Reader) ([]byte, error) {
	if file != "-" {
		return fsroot.ReadNamed(file, domxml.MaxSize)
	}
	data, err := io.ReadAll(io.LimitReader(r, domxml.MaxSize+1))
	if err == nil && len(data) > domxml.MaxSize {
		err = fmt.Errorf("stdin: larger than %d MiB; not a domain definition", domxml.MaxSize>>20)
	}
	return data, err
}

// File edits a domain definition held in data. Without a vendor given, the
// host's decides (the snapshot's, or this machine's).
func File(data []byte, o Options) (domxml.Result, Said, error) {
	if o.Undo {
		res, err := domxml.Unexpose(data)
		return res, Said{}, err
	}
	var said Said
	vendor := o.Vendor
	if vendor == "" {
		f, err := o.Facts(o.Root)
		if inspect.UnusableHostYAML(err) {
			said.HostNotes = append(said.HostNotes, inspect.OneLine(err)+"; what it states is unknown here")
		} else if err != nil {
			return domxml.Result{}, said, err
		}
		vendor = probe.Str(f.CPUVendor)
	}
	res, err := domxml.Expose(data, domxml.ExposeOptions{Arch: o.Arch, Vendor: vendor, Hyperv: domxml.HypervWanted(o.Hyperv, data)})
	return res, said, err
}

// Daemon is what a change asks of libvirt.
type Daemon interface {
	audit.Daemon
	Edit(name string, o libvirt.EditOptions, fn func(raw []byte) (domxml.Result, error)) (libvirt.Change, error)
}

// Domain edits the definition of the domain name on conn (libvirt.Conn.Edit:
// read again just before defining, never reverting another's change). Its
// errors are audit.HostOf's, a Refusal, or the edit's (libvirt's).
func Domain(conn Daemon, name string, eo libvirt.EditOptions, o Options) (libvirt.Change, Said, error) {
	if o.Undo {
		ch, err := conn.Edit(name, eo, domxml.Unexpose)
		return ch, Said{}, err
	}
	local := func() (probe.Facts, error) { return o.Facts(o.Root) }
	facts, notes, soft, err := audit.HostOf(conn, audit.Options{Local: local, Root: o.Root})
	if err != nil {
		return libvirt.Change{}, Said{}, err
	}
	if soft != nil {
		// A host.yaml that is not valid costs only what it states; it never
		// blocks a remedy (the guard goes on the same way).
		notes = append(notes, inspect.OneLine(soft)+"; what it states is unknown here")
	}
	said := Said{HostNotes: notes}
	warnings, refusal := judge.Exposable(facts)
	if refusal != nil {
		return libvirt.Change{}, said, fault.Refused{Err: refusal}
	}
	said.Warnings = warnings
	vendor := probe.Str(facts.CPUVendor)
	ch, err := conn.Edit(name, eo, func(raw []byte) (domxml.Result, error) {
		return domxml.Expose(raw, domxml.ExposeOptions{Vendor: vendor, Hyperv: domxml.HypervWanted(o.Hyperv, raw)})
	})
	return ch, said, err
}

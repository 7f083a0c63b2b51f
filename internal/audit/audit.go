// Package audit judges the VMs of one libvirt host: it connects to the daemon,
// decides whose host facts its domains are judged with, reads every domain (and,
// when asked, their guest agents) and judges them from where the host stands.
//
// One machine per answer: the facts of a daemon's host are that host's. For this
// machine's own daemon they are read here (or from a snapshot standing for this
// machine), with this machine's /etc/nestvirt/host.yaml. For any other daemon
// (qemu+ssh://, qemu+tcp://, the test driver) this machine is not probed and its
// host.yaml is never read: the host's CPU comes from the daemon's capabilities,
// and what is stated about that host is what was stated for it (flags, a
// host.yaml given for it, or the snapshot given for it with --root).
package audit

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/sos"
)

// Daemon is what an audit needs of a libvirt daemon: a libvirt.Conn, or a
// recorded daemon in tests.
type Daemon interface {
	ReadAll(workers int) ([]domxml.Record, error)
	HostModel() func(arch, feature string) (bool, error)
	AskAgents(recs []domxml.Record, workers int)
	// Host is the daemon's host CPU, from its capabilities.
	Host() (libvirt.HostCPU, error)
	// Where is the daemon's URI, and whether its domains run on this machine.
	Where() (uri string, thisMachine bool)
	Close() error
}

// Options say which daemon and whose facts.
type Options struct {
	Dial    func(libvirt.Options) (Daemon, error)
	URI     string
	Timeout time.Duration
	// Agents: ask the guest agents of running domains which OS they run, on a
	// read-write connection of their own.
	Agents bool
	// Local reads the facts of this machine's daemon's host: this machine, or
	// the snapshot (Root, not "/") that stands for it, with what is stated
	// about it. It is called only when the daemon is this machine's own, or
	// when Root is given for another daemon's host.
	Local func() (probe.Facts, error)
	// Root is the snapshot Local reads ("/" for this machine itself).
	Root string
	// Stated is what was stated for another daemon's host (flags, a host.yaml
	// given for it); this machine's host.yaml is never used for it.
	Stated probe.Stated
	// ThisMachine refuses another host's daemon (check --vms judges this
	// machine's VMs only).
	ThisMachine bool
}

// Errors an audit gives, besides libvirt's (a daemon that cannot be reached,
// libvirt.ConnectError).
var (
	// ErrOtherMachine: check --vms was pointed at another host's daemon.
	ErrOtherMachine = errors.New("another host's daemon")
	// ErrSnapshotMismatch: the snapshot given for another daemon's host is of a
	// host with another CPU.
	ErrSnapshotMismatch = errors.New("the snapshot is of another host")
	// ErrCapabilities: another daemon's host capabilities could not be read.
	ErrCapabilities = errors.New("the daemon's capabilities could not be read")
)

// Result is an audit and the facts of the host it judged with.
type Result struct {
	Audit judge.Audit
	Host  probe.Facts
}

// Run audits the daemon o names. A local-facts error (Local's) is returned
// with whatever was judged: a host.yaml that is not valid costs its statements
// only (the caller reports it after the answer).
func Run(p *policy.Policy, o Options) (Result, error) {
	conn, err := o.Dial(libvirt.Options{URI: o.URI, ReadOnly: true, Timeout: o.Timeout})
	if err != nil {
		// This machine's daemon did not answer: the answer still says what
		// this machine is.
		if libvirt.ThisMachine(o.URI) && o.Local != nil {
			host, _ := o.Local()
			return Result{Host: host}, err
		}
		return Result{}, err
	}
	defer conn.Close()
	uri, this := conn.Where()
	if o.ThisMachine && !this {
		return Result{}, fault.Inputf("%s is %w: check --vms judges this machine's VMs; for that host's, run nestvirt vms -c %s (or nestvirt check --vms there)", uri, ErrOtherMachine, uri)
	}
	host, notes, soft, err := HostOf(conn, o)
	if err != nil {
		return Result{Host: host}, err
	}
	records, err := conn.ReadAll(Workers())
	if err != nil {
		return Result{Host: host}, err
	}
	agentNote := askAgents(o, records)
	res := judge.VMs(p, host, records, conn.HostModel())
	res.Notes = append(notes, res.Notes...)
	if agentNote != "" {
		res.Notes = append(res.Notes, agentNote)
	}
	res.URI = uri
	return Result{Audit: res, Host: host}, soft
}

// HostOf is the host a daemon's domains run on, as nestvirt judges them, and
// notes saying which machine each part of the answer describes. soft is
// Local's error when its facts are still usable (a host.yaml not valid).
func HostOf(conn Daemon, o Options) (host probe.Facts, notes []string, soft, err error) {
	uri, this := conn.Where()
	if this {
		host, soft = o.Local()
		if soft != nil && host.Arch == nil && host.Hostname == nil {
			return host, nil, nil, soft // nothing of the machine could be read
		}
		if o.Root != "/" && o.Root != "" {
			notes = append(notes, fmt.Sprintf("the host facts are the snapshot %s's; the domains are %s's, on this machine: they are judged as if they ran on the snapshot's host", o.Root, uri))
		}
		return host, notes, soft, nil
	}
	h, err := conn.Host()
	if err != nil {
		return probe.Facts{}, nil, nil, fmt.Errorf("%s is another host, whose CPU decides what its VMs can use (vmx or svm), and %w: %w", uri, ErrCapabilities, err)
	}
	if o.Root != "/" && o.Root != "" {
		host, soft = o.Local()
		if soft != nil && host.Arch == nil {
			return host, nil, nil, soft
		}
		if probe.Str(host.Arch) != h.Arch || (host.CPUVendor != nil && h.Vendor != "" && *host.CPUVendor != h.Vendor) {
			return host, nil, nil, fault.Inputf("--root %s describes a host whose CPU is %s %s, but the daemon at %s runs on %s %s: %w; give that host's snapshot", o.Root, probe.Str(host.CPUVendor), probe.Str(host.Arch), uri, h.Vendor, h.Arch, ErrSnapshotMismatch)
		}
		return host, []string{fmt.Sprintf("the host facts are the snapshot %s's, standing for the host of %s (its CPU matches the daemon's: %s %s)", o.Root, uri, h.Vendor, h.Arch)}, soft, nil
	}
	host, notes = RemoteHost(uri, h, o.Stated)
	return host, notes, nil, nil
}

// RemoteHost is what is known of another daemon's host: its CPU, from the
// daemon's capabilities, and what was stated for it. Nothing else of it can be
// read from here.
func RemoteHost(uri string, h libvirt.HostCPU, stated probe.Stated) (probe.Facts, []string) {
	f := probe.Facts{Arch: &h.Arch, Notes: []string{}, KVM: probe.KVMFacts{Config: []string{}}, Virtualization: probe.Virtualization{Evidence: []string{}}}
	if h.Vendor != "" {
		f.CPUVendor = &h.Vendor
	}
	f.Stated = stated
	f.Stated.From = append([]string{}, stated.From...)
	cpu := strings.TrimSpace(h.Vendor + " " + h.Arch)
	if h.Vendor == "" && arch.IsX86(h.Arch) {
		cpu += ", its vendor not named, so whether its VMs need vmx or svm is unknown"
	}
	note := fmt.Sprintf("%s is another host: its CPU (%s) is read from its daemon's capabilities, and nothing else of it (whether nesting is on, where it stands) can be read from here; run nestvirt there, or give its snapshot with --root", uri, cpu)
	f.Notes = append(f.Notes, note)
	return f, []string{note}
}

// askAgents asks the guest agents of the running domains on a read-write
// connection of its own (libvirt refuses virDomainGetGuestInfo on a read-only
// one): one agent that hangs closes that connection, not the audit's. It says
// why none was asked, or "".
func askAgents(o Options, recs []domxml.Record) string {
	if !o.Agents || !slices.ContainsFunc(recs, func(r domxml.Record) bool { return r.Err == nil && r.State == "running" }) {
		return ""
	}
	rw, err := o.Dial(libvirt.Options{URI: o.URI, Timeout: o.Timeout})
	if err != nil {
		return fmt.Sprintf("the guest agents were not asked (the OS of each VM is the declared one): a read-write connection, which libvirt needs for them, failed: %s", err)
	}
	defer rw.Close()
	rw.AskAgents(recs, Workers())
	return ""
}

// Report judges a sosreport's domains with the facts of its host: no libvirt
// is asked.
func Report(p *policy.Policy, rep *sos.Report, facts probe.Facts) judge.Audit {
	var hostModel func(arch, feature string) (bool, error)
	if caps := rep.DomainCapabilities(); caps != "" {
		hostModel = func(_, feature string) (bool, error) { return domxml.HostModelRequires(caps, feature) }
	}
	res := judge.VMs(p, facts, rep.Domains(), hostModel)
	res.URI = "sosreport " + rep.Real("")
	return res
}

// Workers is how many domains are read (and agents asked) at once: reads wait
// on the daemon far more than on this process.
func Workers() int { return 4 * runtime.GOMAXPROCS(0) }

// Package libvirt is nestvirt's narrow view of a libvirt daemon: list domains, read
// their XML and state, read and write nestvirt's metadata, define a domain. It
// speaks libvirt's RPC protocol through github.com/digitalocean/go-libvirt (pure Go,
// no cgo). Every call has a deadline: a daemon that accepts and never answers is
// an error naming the URI, not a hang.
package libvirt

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fault"
)

// DefaultURI is virsh's default for root.
const DefaultURI = "qemu:///system"

// DefaultTimeout bounds each call to the daemon.
const DefaultTimeout = 30 * time.Second

// Sockets tried for local URIs, in order: the monolithic daemon, then the modular
// QEMU daemon. Read-only sockets are used where nestvirt only reads.
var localSockets = []string{"/run/libvirt/libvirt-sock", "/run/libvirt/virtqemud-sock"}

// Options say how to connect.
type Options struct {
	URI      string        // "" means DefaultURI
	ReadOnly bool          // use the daemon's read-only socket for local URIs
	Timeout  time.Duration // per call; 0 means DefaultTimeout
}

// Conn is a connection to one libvirt URI.
type Conn struct {
	l       *golibvirt.Libvirt
	URI     string
	Socket  string // the local socket used; "" for remote transports
	timeout time.Duration
	dial    *closingDialer

	evOnce sync.Once
	ev     *events // the subscription edits use (subscribe)
}

// ConnectError says which daemon could not be reached and how.
type ConnectError struct {
	URI     string
	Tried   []string // the local sockets tried, in order
	Errs    []error  // what each gave
	Err     error
	Unknown bool // the URI is not a libvirt URI
}

func (e *ConnectError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("%q is not a libvirt URI (examples: qemu:///system, test:///default, qemu+tcp://host/system, qemu+ssh://user@host/system): %v", e.URI, e.Err)
	}
	if len(e.Tried) > 0 {
		// Every socket with its own error: the one that exists and refused is
		// the one to look at, not the last one tried.
		each := make([]string, len(e.Tried))
		for i, s := range e.Tried {
			each[i] = s
			if i < len(e.Errs) && e.Errs[i] != nil {
				each[i] += " (" + e.Errs[i].Error() + ")"
			}
		}
		return fmt.Sprintf("cannot connect to libvirt for %s: tried %s (is libvirtd or virtqemud running, and may this user use its socket?)", e.URI, strings.Join(each, "; "))
	}
	return fmt.Sprintf("cannot connect to libvirt for %s: %v", e.URI, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// TimeoutError is a call the daemon did not answer in time.
type TimeoutError struct {
	URI     string
	Call    string
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("libvirt at %s did not answer %s within %s (a daemon that hangs, or a peer that is not libvirt?); see --timeout", e.URI, e.Call, e.Timeout)
}

// ErrTimeout matches every TimeoutError.
var ErrTimeout = errors.New("libvirt call timed out")

func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Connect opens a connection.
func Connect(o Options) (*Conn, error) {
	uri := o.URI
	if uri == "" {
		uri = DefaultURI
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || !validScheme(u.Scheme) {
		if err == nil {
			err = errors.New("unknown scheme")
		}
		return nil, fault.Input{Err: &ConnectError{URI: uri, Err: err, Unknown: true}}
	}
	transport := ""
	if parts := strings.SplitN(u.Scheme, "+", 2); len(parts) == 2 {
		transport = parts[1]
	}
	if transport == "" && u.Host == "" {
		return connectLocal(uri, u, o.ReadOnly, timeout, localSockets)
	}
	d, err := remoteDialer(u, transport, timeout)
	if err != nil {
		return nil, fault.Input{Err: &ConnectError{URI: uri, Err: err, Unknown: true}}
	}
	c, err := open(uri, d, golibvirt.RemoteURI(u), timeout)
	if err != nil {
		return nil, &ConnectError{URI: uri, Err: err}
	}
	return c, nil
}

func validScheme(s string) bool {
	switch strings.SplitN(s, "+", 2)[0] {
	case "qemu", "test", "lxc", "xen", "vbox", "vmware", "esx", "bhyve", "ch", "vz", "hyperv", "libxl", "openvz":
		return true
	}
	return false
}

func connectLocal(uri string, u *url.URL, readOnly bool, timeout time.Duration, socks []string) (*Conn, error) {
	if s := u.Query().Get("socket"); s != "" {
		socks = []string{s}
	}
	var tried []string
	var errs []error
	for _, s := range socks {
		path := s
		if readOnly && u.Query().Get("socket") == "" {
			if _, err := os.Stat(s + "-ro"); err == nil {
				path = s + "-ro"
			}
		}
		if _, err := os.Stat(path); err != nil {
			tried, errs = append(tried, path), append(errs, errors.Unwrap(err))
			continue
		}
		d := &closingDialer{inner: dialers.NewLocal(dialers.WithSocket(path), dialers.WithLocalTimeout(timeout))}
		remote := golibvirt.ConnectURI((&url.URL{Scheme: u.Scheme, Path: u.Path}).String())
		c, err := open(uri, d, remote, timeout)
		if err != nil {
			tried, errs = append(tried, path), append(errs, err)
			continue
		}
		c.Socket = path
		return c, nil
	}
	// Err is what the socket that exists said, where one does.
	main := errs[len(errs)-1]
	for _, e := range errs {
		if !errors.Is(e, fs.ErrNotExist) {
			main = e
			break
		}
	}
	return nil, &ConnectError{URI: uri, Tried: tried, Errs: errs, Err: main}
}

func open(uri string, d *closingDialer, remote golibvirt.ConnectURI, timeout time.Duration) (*Conn, error) {
	c := &Conn{l: golibvirt.NewWithDialer(d), URI: uri, timeout: timeout, dial: d}
	if err := c.call("the connection handshake", func() error { return c.l.ConnectToURI(remote) }); err != nil {
		return nil, err
	}
	return c, nil
}

// remoteDialer builds the dialer go-libvirt would for a remote URI. go-libvirt
// offers no deadline on its calls and no access to the connection it dials, so
// nestvirt builds the dialer itself (mirroring go-libvirt's dialerForURI for the
// transports below) to be able to close a connection that stopped answering.
func remoteDialer(u *url.URL, transport string, timeout time.Duration) (*closingDialer, error) {
	q := u.Query()
	var inner socket.Dialer
	switch transport {
	case "tcp":
		opts := []dialers.RemoteOption{dialers.WithRemoteTimeout(timeout)}
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UsePort(p))
		}
		inner = dialers.NewRemote(u.Hostname(), opts...)
	case "tls", "":
		var opts []dialers.TLSOption // the dial is bounded by call, as every step is
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UseTLSPort(p))
		}
		if pki := q.Get("pkipath"); pki != "" {
			opts = append(opts, dialers.UsePKIPath(pki))
		}
		if q.Get("no_verify") == "1" {
			opts = append(opts, dialers.WithInsecureNoVerify())
		}
		inner = dialers.NewTLS(u.Hostname(), opts...)
	case "ssh", "libssh", "libssh2":
		var opts []dialers.SSHOption
		if transport == "ssh" {
			me, err := user.Current()
			if err != nil {
				return nil, err
			}
			opts = append(opts, dialers.WithSystemSSHDefaults(me))
		}
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UseSSHPort(p))
		}
		if name := u.User.Username(); name != "" {
			opts = append(opts, dialers.UseSSHUsername(name))
		}
		if s := q.Get("socket"); s != "" {
			opts = append(opts, dialers.WithRemoteSocket(s))
		}
		if k := q.Get("keyfile"); k != "" {
			opts = append(opts, dialers.UseKeyFile(k))
		}
		if k := q.Get("known_hosts"); k != "" {
			opts = append(opts, dialers.UseKnownHostsFile(k))
		}
		if q.Get("no_verify") == "1" {
			opts = append(opts, dialers.WithInsecureIgnoreHostKey())
		}
		inner = dialers.NewSSH(u.Hostname(), opts...)
	default:
		return nil, fmt.Errorf("transport %q is not supported (unix, tcp, tls, ssh, libssh)", transport)
	}
	return &closingDialer{inner: inner}, nil
}

// closingDialer keeps the connection it dials, so a call past its deadline can
// close it: go-libvirt then fails every pending call instead of waiting forever.
type closingDialer struct {
	inner socket.Dialer
	mu    sync.Mutex
	conn  net.Conn
}

func (d *closingDialer) Dial() (net.Conn, error) {
	c, err := d.inner.Dial()
	d.mu.Lock()
	d.conn = c
	d.mu.Unlock()
	return c, err
}

func (d *closingDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != nil {
		d.conn.Close()
	}
}

// call runs fn with the connection's deadline: past it, the connection is closed
// (fn then returns), and the error says which call and URI did not answer.
func (c *Conn) call(what string, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		c.dial.close()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
		return &TimeoutError{URI: c.URI, Call: what, Timeout: c.timeout}
	}
}

// Close ends the connection, within the deadline.
func (c *Conn) Close() error {
	err := c.call("the disconnect", c.l.Disconnect)
	c.dial.close()
	return err
}

// Disconnected is closed when the daemon goes away.
func (c *Conn) Disconnected() <-chan struct{} { return c.l.Disconnected() }

// Where is the daemon's URI, and whether its domains run on this machine: it
// was reached on a local socket and its driver is not libvirt's test driver,
// whose host is made up (the host facts nestvirt reads here are then the
// daemon's host's, and this machine's host.yaml states facts about it).
func (c *Conn) Where() (string, bool) { return c.URI, c.Socket != "" && ThisMachine(c.URI) }

// ThisMachine says whether a URI names a daemon whose domains run on this
// machine: no host and no transport (a local socket), and not the test driver.
func ThisMachine(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && u.Host == "" && !strings.Contains(u.Scheme, "+") && u.Scheme != "test" && validScheme(u.Scheme)
}

// Daemon is what nestvirt's commands ask of a libvirt daemon: a *Conn, or in
// tests a replay that answers the same way.
type Daemon interface {
	Domains() ([]Domain, error)
	Lookup(name string) (Domain, error)
	ReadAll(workers int) ([]domxml.Record, error)
	HostModel() func(arch, feature string) (bool, error)
	Edit(name string, o EditOptions, fn func(raw []byte) (domxml.Result, error)) (Change, error)
	Annotate(name, runs string, l2 []string, osName string) (domxml.Annotation, error)
	AskAgents(recs []domxml.Record, workers int)
	// Host is the daemon's host CPU, from its capabilities.
	Host() (HostCPU, error)
	// Where is the daemon's URI, and whether it was reached on a local socket.
	Where() (uri string, local bool)
	Close() error
}

var _ Daemon = (*Conn)(nil)

// Running names the domains that run on d.
func Running(d Daemon) ([]string, error) {
	ds, err := d.Domains()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, dom := range ds {
		if dom.Active {
			out = append(out, dom.Name)
		}
	}
	return out, nil
}

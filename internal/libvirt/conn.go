// Package libvirt is nestvirt's narrow view of a libvirt daemon: list domains, read
// their XML and state, read and write nestvirt's metadata, define a domain. It
// speaks libvirt's RPC protocol through github.com/digitalocean/go-libvirt (pure Go,
// no cgo) and turns domain XML into facts the policy judges.
package libvirt

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// DefaultURI is virsh's default for root.
const DefaultURI = "qemu:///system"

// Sockets tried for local URIs, in order: the monolithic daemon, then the modular
// QEMU daemon. Read-only sockets are used where nestvirt only reads.
var localSockets = []string{"/run/libvirt/libvirt-sock", "/run/libvirt/virtqemud-sock"}

// Conn is a connection to one libvirt URI.
type Conn struct {
	l      *golibvirt.Libvirt
	URI    string
	Socket string // the local socket used; "" for remote transports
}

// ConnectError says which daemon could not be reached and how.
type ConnectError struct {
	URI     string
	Tried   []string
	Err     error
	Unknown bool // the URI is not a libvirt URI
}

func (e *ConnectError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("%q is not a libvirt URI (examples: qemu:///system, test:///default, qemu+tcp://host/system, qemu+ssh://user@host/system): %v", e.URI, e.Err)
	}
	if len(e.Tried) > 0 {
		return fmt.Sprintf("cannot connect to libvirt for %s: tried %s: %v (is libvirtd or virtqemud running, and may this user use its socket?)", e.URI, strings.Join(e.Tried, ", "), e.Err)
	}
	return fmt.Sprintf("cannot connect to libvirt for %s: %v", e.URI, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Connect opens uri ("" means DefaultURI). readOnly uses the daemon's read-only
// socket for local URIs, where only reading is needed.
func Connect(uri string, readOnly bool) (*Conn, error) {
	if uri == "" {
		uri = DefaultURI
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || !validScheme(u.Scheme) {
		if err == nil {
			err = errors.New("unknown scheme")
		}
		return nil, &ConnectError{URI: uri, Err: err, Unknown: true}
	}
	transport := ""
	if parts := strings.SplitN(u.Scheme, "+", 2); len(parts) == 2 {
		transport = parts[1]
	}
	if transport == "" && u.Host == "" {
		return connectLocal(uri, u, readOnly)
	}
	l, err := golibvirt.ConnectToURI(u)
	if err != nil {
		return nil, &ConnectError{URI: uri, Err: err}
	}
	return &Conn{l: l, URI: uri}, nil
}

func validScheme(s string) bool {
	drv := strings.SplitN(s, "+", 2)[0]
	switch drv {
	case "qemu", "test", "lxc", "xen", "vbox", "vmware", "esx", "bhyve", "ch", "vz", "hyperv", "libxl", "openvz":
		return true
	}
	return false
}

func connectLocal(uri string, u *url.URL, readOnly bool) (*Conn, error) {
	socks := localSockets
	if s := u.Query().Get("socket"); s != "" {
		socks = []string{s}
	}
	var tried []string
	var lastErr error
	for _, s := range socks {
		path := s
		if readOnly && u.Query().Get("socket") == "" {
			if _, err := os.Stat(s + "-ro"); err == nil {
				path = s + "-ro"
			}
		}
		tried = append(tried, path)
		if _, err := os.Stat(path); err != nil {
			lastErr = err
			continue
		}
		l := golibvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(path), dialers.WithLocalTimeout(3*time.Second)))
		remote := golibvirt.ConnectURI((&url.URL{Scheme: u.Scheme, Path: u.Path}).String())
		if err := l.ConnectToURI(remote); err != nil {
			lastErr = err
			continue
		}
		return &Conn{l: l, URI: uri, Socket: path}, nil
	}
	return nil, &ConnectError{URI: uri, Tried: tried, Err: lastErr}
}

// Close ends the connection.
func (c *Conn) Close() error { return c.l.Disconnect() }

// Domain is a domain as listed.
type Domain struct {
	Name   string
	UUID   string
	Active bool
	ref    golibvirt.Domain
}

// Domains lists every domain, running or only defined.
func (c *Conn) Domains() ([]Domain, error) {
	ds, _, err := c.l.ConnectListAllDomains(1, 0)
	if err != nil {
		return nil, fmt.Errorf("listing domains: %w", err)
	}
	out := make([]Domain, len(ds))
	for i, d := range ds {
		out[i] = Domain{Name: d.Name, UUID: fmt.Sprintf("%x", d.UUID), Active: d.ID > 0, ref: d}
	}
	return out, nil
}

// Lookup finds a domain by name.
func (c *Conn) Lookup(name string) (Domain, error) {
	d, err := c.l.DomainLookupByName(name)
	if err != nil {
		if golibvirt.IsNotFound(err) {
			return Domain{}, fmt.Errorf("no domain named %q on %s", name, c.URI)
		}
		return Domain{}, fmt.Errorf("looking up %q: %w", name, err)
	}
	return Domain{Name: d.Name, UUID: fmt.Sprintf("%x", d.UUID), Active: d.ID > 0, ref: d}, nil
}

// XML returns a domain's XML. inactive gives the persistent definition; secure
// includes secrets (VNC/SPICE passwords): only for redefining, never for output.
func (c *Conn) XML(d Domain, inactive, secure bool) (string, error) {
	var flags golibvirt.DomainXMLFlags
	if inactive {
		flags |= golibvirt.DomainXMLInactive
	}
	if secure {
		flags |= golibvirt.DomainXMLSecure
	}
	x, err := c.l.DomainGetXMLDesc(d.ref, flags)
	if err != nil {
		return "", domainErr(d, err)
	}
	return x, nil
}

// State names a domain's state.
func (c *Conn) State(d Domain) (string, error) {
	st, _, err := c.l.DomainGetState(d.ref, 0)
	if err != nil {
		return "", domainErr(d, err)
	}
	names := []string{"nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"}
	if int(st) < len(names) && st >= 0 {
		return names[st], nil
	}
	return fmt.Sprintf("state-%d", st), nil
}

// ErrVanished is returned when a domain disappears while nestvirt looks at it.
var ErrVanished = errors.New("the domain vanished (undefined while being read)")

func domainErr(d Domain, err error) error {
	if golibvirt.IsNotFound(err) {
		return fmt.Errorf("%s: %w", d.Name, ErrVanished)
	}
	return fmt.Errorf("%s: %w", d.Name, err)
}

// DomainCapabilities returns the daemon's domain capabilities for an arch.
func (c *Conn) DomainCapabilities(arch string) (string, error) {
	return c.l.ConnectGetDomainCapabilities(nil, golibvirt.OptString{arch}, nil, nil, 0)
}

// Metadata returns nestvirt's metadata element of the persistent definition, or ""
// when there is none.
func (c *Conn) Metadata(d Domain, uri string) (string, error) {
	m, err := c.l.DomainGetMetadata(d.ref, int32(golibvirt.DomainMetadataElement), golibvirt.OptString{uri}, golibvirt.DomainAffectConfig)
	if err != nil {
		var le golibvirt.Error
		if errors.As(err, &le) && le.Code == uint32(golibvirt.ErrNoDomainMetadata) {
			return "", nil
		}
		return "", domainErr(d, err)
	}
	return m, nil
}

// SetMetadata writes nestvirt's element through libvirt's metadata API, to the
// persistent definition and, for a running domain, the live one: nothing else of
// the domain is rewritten.
func (c *Conn) SetMetadata(d Domain, element, key, uri string) error {
	flags := golibvirt.DomainAffectConfig
	if d.Active {
		flags |= golibvirt.DomainAffectLive
	}
	var md golibvirt.OptString
	if element != "" {
		md = golibvirt.OptString{element}
	}
	if err := c.l.DomainSetMetadata(d.ref, int32(golibvirt.DomainMetadataElement), md, golibvirt.OptString{key}, golibvirt.OptString{uri}, flags); err != nil {
		return domainErr(d, err)
	}
	return nil
}

// Define (re)defines a domain from XML; libvirt applies it atomically.
func (c *Conn) Define(xml string) error {
	if _, err := c.l.DomainDefineXML(xml); err != nil {
		return fmt.Errorf("defining the domain: %w", err)
	}
	return nil
}

// Disconnected is closed when the daemon goes away.
func (c *Conn) Disconnected() <-chan struct{} { return c.l.Disconnected() }

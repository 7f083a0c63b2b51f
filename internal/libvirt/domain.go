package libvirt

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/osid"
)

// Domain is a domain as listed.
type Domain struct {
	Name   string
	UUID   string
	Active bool
	ref    golibvirt.Domain
	state  string // as listed with its state; "" when it must be asked
}

// Domains lists every domain, running or only defined.
func (c *Conn) Domains() ([]Domain, error) {
	var ds []golibvirt.Domain
	err := c.call("listing domains", func() (err error) {
		ds, _, err = c.l.ConnectListAllDomains(1, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing domains: %w", err)
	}
	out := make([]Domain, len(ds))
	for i, d := range ds {
		out[i] = Domain{Name: d.Name, UUID: fmt.Sprintf("%x", d.UUID), Active: d.ID > 0, ref: d}
	}
	return out, nil
}

// ErrNoDomain is returned for a name no domain has.
var ErrNoDomain = errors.New("no such domain")

// NoDomain is the error for a name no domain has on the daemon at uri: bad
// input (fault.Input), matching ErrNoDomain.
func NoDomain(name, uri string) error {
	return fault.Inputf("%w: no domain named %q on %s (virsh -c %s list --all lists them)", ErrNoDomain, name, uri, uri)
}

// Lookup finds a domain by name.
func (c *Conn) Lookup(name string) (Domain, error) {
	var d golibvirt.Domain
	err := c.call("looking up "+name, func() (err error) {
		d, err = c.l.DomainLookupByName(name)
		return err
	})
	if err != nil {
		if golibvirt.IsNotFound(err) {
			return Domain{}, NoDomain(name, c.URI)
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
	var x string
	err := c.call("reading the XML of "+d.Name, func() (err error) {
		x, err = c.l.DomainGetXMLDesc(d.ref, flags)
		return err
	})
	if err != nil {
		return "", domainErr(d, err)
	}
	return x, nil
}

// Persistent reports whether a domain has a persistent definition.
func (c *Conn) Persistent(d Domain) (bool, error) {
	var p int32
	err := c.call("asking whether "+d.Name+" is persistent", func() (err error) {
		p, err = c.l.DomainIsPersistent(d.ref)
		return err
	})
	if err != nil {
		return false, domainErr(d, err)
	}
	return p == 1, nil
}

// State names a domain's state.
func (c *Conn) State(d Domain) (string, error) {
	var st int32
	err := c.call("reading the state of "+d.Name, func() (err error) {
		st, _, err = c.l.DomainGetState(d.ref, 0)
		return err
	})
	if err != nil {
		return "", domainErr(d, err)
	}
	return stateName(st), nil
}

// stateName is libvirt's virDomainState as virsh names it.
func stateName(st int32) string {
	names := []string{"nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended"}
	if int(st) < len(names) && st >= 0 {
		return names[st]
	}
	return fmt.Sprintf("state-%d", st)
}

// domainsWithState lists every domain with its state in one call
// (virConnectGetAllDomainStats, the state group): for a thousand domains, a
// thousand round trips fewer than asking each. ok is false when the daemon
// cannot answer it (a driver without it); the caller then lists and asks.
func (c *Conn) domainsWithState() (out []Domain, ok bool) {
	var recs []golibvirt.DomainStatsRecord
	err := c.call("listing domains with their state", func() (err error) {
		recs, err = c.l.ConnectGetAllDomainStats(nil, uint32(golibvirt.DomainStatsState), 0)
		return err
	})
	if err != nil {
		return nil, false
	}
	out = make([]Domain, 0, len(recs))
	for _, r := range recs {
		d := Domain{Name: r.Dom.Name, UUID: fmt.Sprintf("%x", r.Dom.UUID), Active: r.Dom.ID > 0, ref: r.Dom}
		for _, p := range r.Params {
			if st, isInt := p.Value.I.(int32); p.Field == "state.state" && isInt {
				d.state = stateName(st)
			}
		}
		out = append(out, d)
	}
	return out, true
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
	var x string
	err := c.call("reading domain capabilities", func() (err error) {
		x, err = c.l.ConnectGetDomainCapabilities(nil, golibvirt.OptString{arch}, nil, nil, 0)
		return err
	})
	return x, err
}

// HostModel answers whether the host-model CPU of an arch requires a feature,
// reading the domain capabilities once per arch.
func (c *Conn) HostModel() func(arch, feature string) (bool, error) {
	var mu sync.Mutex
	cache := map[string]struct {
		xml string
		err error
	}{}
	return func(arch, feature string) (bool, error) {
		mu.Lock()
		e, ok := cache[arch]
		if !ok {
			e.xml, e.err = c.DomainCapabilities(arch)
			cache[arch] = e
		}
		mu.Unlock()
		if e.err != nil {
			return false, e.err
		}
		return domxml.HostModelRequires(e.xml, feature)
	}
}

// Metadata returns nestvirt's metadata element, or "" when there is none.
func (c *Conn) Metadata(d Domain, uri string, live bool) (string, error) {
	flags := golibvirt.DomainAffectConfig
	if live {
		flags = golibvirt.DomainAffectLive
	}
	var m string
	err := c.call("reading the metadata of "+d.Name, func() (err error) {
		m, err = c.l.DomainGetMetadata(d.ref, int32(golibvirt.DomainMetadataElement), golibvirt.OptString{uri}, flags)
		return err
	})
	if err != nil {
		var le golibvirt.Error
		if errors.As(err, &le) && le.Code == uint32(golibvirt.ErrNoDomainMetadata) {
			return "", nil
		}
		return "", domainErr(d, err)
	}
	return m, nil
}

// SetMetadata writes nestvirt's element through libvirt's metadata API: to the
// persistent definition (unless the domain is transient) and, for a running
// domain, the live one. Nothing else of the domain is rewritten.
func (c *Conn) SetMetadata(d Domain, persistent bool, element, key, uri string) error {
	var flags golibvirt.DomainModificationImpact
	if persistent {
		flags |= golibvirt.DomainAffectConfig
	}
	if d.Active {
		flags |= golibvirt.DomainAffectLive
	}
	var md golibvirt.OptString
	if element != "" {
		md = golibvirt.OptString{element}
	}
	err := c.call("writing the metadata of "+d.Name, func() error {
		return c.l.DomainSetMetadata(d.ref, int32(golibvirt.DomainMetadataElement), md, golibvirt.OptString{key}, golibvirt.OptString{uri}, flags)
	})
	if err != nil {
		return domainErr(d, err)
	}
	return nil
}

// Define (re)defines a domain from XML; libvirt applies it atomically.
func (c *Conn) Define(xml string) error {
	err := c.call("defining a domain", func() error {
		_, err := c.l.DomainDefineXML(xml)
		return err
	})
	if err != nil {
		return fmt.Errorf("defining the domain: %w", err)
	}
	return nil
}

// ReadAll reads every domain's XML and state, workers at a time. A domain that
// cannot be read (it vanished) is a record with its error; losing the daemon is an
// error for the whole read.
func (c *Conn) ReadAll(workers int) ([]domxml.Record, error) {
	doms, ok := c.domainsWithState()
	if !ok {
		var err error
		if doms, err = c.Domains(); err != nil {
			return nil, err
		}
	}
	out := make([]domxml.Record, len(doms))
	errs := make([]error, len(doms))
	all := make([]int, len(doms))
	for i := range all {
		all[i] = i
	}
	inParallel(all, workers, func(i int) { out[i], errs[i] = c.read(doms[i]) })
	for _, e := range errs {
		if e != nil {
			return nil, e
		}
	}
	return out, nil
}

// read returns an error only when the connection itself failed.
func (c *Conn) read(d Domain) (domxml.Record, error) {
	r := domxml.Record{Name: d.Name}
	x, err := c.XML(d, false, false)
	if err == nil {
		r.XML = []byte(x)
		if r.State = d.state; r.State == "" {
			r.State, err = c.State(d)
		}
	}
	if err != nil {
		if errors.Is(err, ErrTimeout) {
			return r, err
		}
		select {
		case <-c.Disconnected():
			return r, fmt.Errorf("the libvirt daemon at %s went away during the audit", c.URI)
		default:
		}
		r.Err = err
	}
	return r, nil
}

// GuestOS asks a running domain's QEMU guest agent which OS runs in it
// (virDomainGetGuestInfo, its OS group). libvirt refuses it on a read-only
// connection. The error says why there is no answer: no agent in the guest, a
// domain that is not running, an agent too old to report the OS.
func (c *Conn) GuestOS(name string) (osid.AgentOS, error) {
	d, err := c.Lookup(name)
	if err != nil {
		return osid.AgentOS{}, err
	}
	var params []golibvirt.TypedParam
	err = c.call("asking the guest agent of "+name, func() (err error) {
		params, err = c.l.DomainGetGuestInfo(d.ref, uint32(golibvirt.DomainGuestInfoOs), 0)
		return err
	})
	if err != nil {
		return osid.AgentOS{}, err
	}
	return agentOS(params)
}

// agentOS reads the typed parameters of the OS group.
func agentOS(params []golibvirt.TypedParam) (osid.AgentOS, error) {
	m := map[string]string{}
	for _, p := range params {
		if s, ok := p.Value.I.(string); ok {
			m[p.Field] = s
		}
	}
	a, ok := osid.AgentOSFromParams(m)
	if !ok {
		return a, errors.New("the guest agent reports no OS id (qemu-guest-agent older than 2.10?)")
	}
	return a, nil
}

// AskAgents asks the guest agent of every running domain among recs, workers at
// a time, and records its answer or why there is none. A connection that times
// out on one agent is closed: the domains after it record that.
func (c *Conn) AskAgents(recs []domxml.Record, workers int) { AskEach(recs, workers, c.GuestOS) }

// AskEach asks ask about every domain among recs that was read and runs (an
// agent runs only in a running guest), workers at a time, and records each
// answer or why there is none. A daemon and a replay of one (tests) share it,
// so which domains are asked is decided here only.
func AskEach(recs []domxml.Record, workers int, ask func(name string) (osid.AgentOS, error)) {
	var running []int
	for i := range recs {
		if recs[i].Err == nil && recs[i].State == "running" {
			running = append(running, i)
		}
	}
	inParallel(running, workers, func(i int) {
		a, err := ask(recs[i].Name)
		if err != nil {
			recs[i].AgentErr = err.Error()
			return
		}
		recs[i].Agent = &a
	})
}

// inParallel calls fn for each index, workers at a time, and returns when all
// are done. Each call owns its index: fn writes only there.
func inParallel(indexes []int, workers int, fn func(i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
			}
		}()
	}
	for _, i := range indexes {
		work <- i
	}
	close(work)
	wg.Wait()
}

// HostCPU is what a daemon says of the CPU of the host it runs on.
type HostCPU struct {
	Arch   string // normalised: x86_64, aarch64, s390x, ppc64le
	Vendor string // intel, amd, ibm, arm; "" when the daemon does not say
}

// Host reads the daemon's host CPU from its capabilities
// (virConnectGetCapabilities): for a remote URI, the only view nestvirt has of
// the machine the domains run on.
func (c *Conn) Host() (HostCPU, error) {
	var x string
	err := c.call("reading the host capabilities", func() (err error) {
		x, err = c.l.ConnectGetCapabilities()
		return err
	})
	if err != nil {
		return HostCPU{}, fmt.Errorf("reading the capabilities of %s: %w", c.URI, err)
	}
	return HostOf([]byte(x))
}

// HostOf reads the host CPU of a capabilities document.
func HostOf(caps []byte) (HostCPU, error) {
	var cp libvirtxml.Caps
	if err := cp.Unmarshal(string(caps)); err != nil {
		return HostCPU{}, fmt.Errorf("the daemon's capabilities: %w", err)
	}
	h := HostCPU{Arch: arch.Normalize(cp.Host.CPU.Arch)}
	if h.Arch == "" {
		return HostCPU{}, errors.New("the daemon's capabilities name no host CPU architecture")
	}
	switch strings.ToLower(cp.Host.CPU.Vendor) {
	case "intel":
		h.Vendor = "intel"
	case "amd", "hygon":
		h.Vendor = "amd"
	}
	if h.Vendor == "" && !arch.IsX86(h.Arch) {
		h.Vendor = arch.Of(h.Arch, "").Vendor // the other arches imply their vendor
	}
	return h, nil
}

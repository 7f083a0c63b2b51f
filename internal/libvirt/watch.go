package libvirt

import (
	"context"
	"fmt"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// events is a connection's one subscription to what the daemon says happens to
// domains (definitions and metadata changes), kept in the order each kind
// arrives. libvirt has no compare-and-swap for a definition: between nestvirt's
// last read and its define, another writer's change (virsh define, edit,
// metadata) can land and be replaced, and the events are how nestvirt learns it.
//
// It is made once, on the first edit, and never cancelled: it ends when the
// connection closes, and the daemon drops it with the connection. Subscribing
// and cancelling per edit made libvirtd 9.0 crash (a segfault after "domain event
// callback N not registered" and "could not find event callback ... for
// deletion"): go-libvirt deregisters a cancelled subscription from a goroutine,
// and that deregistration raced the connection's close inside the daemon.
type events struct {
	mu      sync.Mutex
	watched map[string]bool
	log     []domainEvent
	base    int // how many events were dropped from the front of log
	wake    chan struct{}
}

// domainEvent is one event for a watched domain.
type domainEvent struct {
	name    string
	defined bool   // a definition (nestvirt's or another's); else a metadata change
	uri     string // the metadata's namespace; "" for <description> or <title>
	kind    int32  // the metadata kind (element, description, title)
}

// maxEvents bounds the log: an edit reads only what came after its mark, and
// a connection that edits (one command) makes a few.
const maxEvents = 4096

// subscribe returns the connection's subscription, making it on the first
// call; nil when the daemon gives no events (an edit then goes on with what its
// reads can tell).
func (c *Conn) subscribe() *events {
	c.evOnce.Do(func() {
		e := &events{watched: map[string]bool{}, wake: make(chan struct{}, 1)}
		for _, id := range []golibvirt.DomainEventID{golibvirt.DomainEventIDLifecycle, golibvirt.DomainEventIDMetadataChange} {
			var ch <-chan interface{}
			err := c.call("subscribing to domain events", func() (err error) {
				// Never cancelled (see events): the context outlives the edit.
				ch, err = c.l.SubscribeEvents(context.Background(), id, golibvirt.OptDomain{})
				return err
			})
			if err != nil {
				return // what was subscribed ends with the connection
			}
			go e.collect(ch)
		}
		c.ev = e
	})
	return c.ev
}

func (e *events) watch(name string) {
	e.mu.Lock()
	e.watched[name] = true
	e.mu.Unlock()
}

func (e *events) collect(ch <-chan interface{}) {
	for ev := range ch {
		var de domainEvent
		switch m := ev.(type) {
		case *golibvirt.DomainEventCallbackLifecycleMsg:
			if golibvirt.DomainEventType(m.Msg.Event) != golibvirt.DomainEventDefined {
				continue
			}
			de = domainEvent{name: m.Msg.Dom.Name, defined: true}
		case *golibvirt.DomainEventCallbackMetadataChangeMsg:
			de = domainEvent{name: m.Dom.Name, kind: m.Type}
			if len(m.Nsuri) > 0 {
				de.uri = m.Nsuri[0]
			}
		default:
			continue
		}
		e.mu.Lock()
		watched := e.watched[de.name]
		if watched {
			if len(e.log) >= maxEvents {
				half := len(e.log) / 2
				e.log, e.base = append(e.log[:0], e.log[half:]...), e.base+half
			}
			e.log = append(e.log, de)
		}
		e.mu.Unlock()
		if watched {
			select {
			case e.wake <- struct{}{}:
			default:
			}
		}
	}
}

// mark is where the log stands now; since reads from it.
func (e *events) mark() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.base + len(e.log)
}

// since returns the events for name after mark.
func (e *events) since(mark int, name string) (defined int, meta []domainEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.log[min(max(mark-e.base, 0), len(e.log)):] {
		switch {
		case ev.name != name:
		case ev.defined:
			defined++
		default:
			meta = append(meta, ev)
		}
	}
	return defined, meta
}

// settle waits (up to timeout) until name has at least one definition after
// mark, then until nothing more has arrived for a short quiet time: the events
// the daemon sent before its reply to the last request are in this process by
// then, and are moved into the log within microseconds. ok is false when no
// definition was announced in time.
func (e *events) settle(mark int, name string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		if d, _ := e.since(mark, name); d > 0 {
			break
		}
		select {
		case <-e.wake:
		case <-deadline:
			return false
		}
	}
	e.quiet()
	return true
}

// quietTime is how long no event for a watched domain must arrive before what
// the daemon sent is taken to be collected: events go through three goroutines
// of this process, which takes microseconds; this leaves room for a busy
// machine.
const quietTime = 30 * time.Millisecond

// quiet waits until no event has arrived for quietTime (at most a second).
func (e *events) quiet() {
	limit := time.After(time.Second)
	for {
		select {
		case <-e.wake:
		case <-time.After(quietTime):
			return
		case <-limit:
			return
		}
	}
}

// OverwrittenError says that another writer changed a domain around nestvirt's
// definition, and that change may be gone: nestvirt's definition replaced it.
type OverwrittenError struct {
	Domain string
	What   []string
}

func (e *OverwrittenError) Error() string {
	return fmt.Sprintf("%s: someone else changed the domain while nestvirt defined its edit (%s), and libvirt has no way to define only if unchanged: nestvirt's edit is in the domain, and that change may have been replaced by it; check it (virsh dumpxml --inactive %s) and make it again if it is gone", e.Domain, joinDistinct(e.What), e.Domain)
}

// Is makes an OverwrittenError match ErrConcurrent.
func (e *OverwrittenError) Is(target error) bool { return target == ErrConcurrent }

func joinDistinct(ss []string) string {
	seen := map[string]bool{}
	out := ""
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			if out != "" {
				out += "; "
			}
			out += s
		}
	}
	return out
}

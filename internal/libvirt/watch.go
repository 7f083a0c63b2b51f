package libvirt

import (
	"context"
	"fmt"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// watch collects what the daemon says happens to one domain (libvirt's domain
// events: definitions and metadata changes), in the order it says it. libvirt
// has no compare-and-swap for a definition: between the last read and the
// define, another writer's change (virsh metadata, virsh edit) lands and is
// overwritten. The events are how nestvirt learns that it happened.
type watch struct {
	name   string
	cancel context.CancelFunc
	mu     sync.Mutex
	events []watchEvent
	wake   chan struct{}
}

type watchEvent struct {
	defined bool   // a definition (ours or another's)
	what    string // for the message
}

// watchDomain subscribes to the domain's definition and metadata events. It
// returns nil when the daemon will not give events (the edit then goes on
// without this check, as before).
func (c *Conn) watchDomain(name string) *watch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watch{name: name, cancel: cancel, wake: make(chan struct{}, 1)}
	for _, id := range []golibvirt.DomainEventID{golibvirt.DomainEventIDLifecycle, golibvirt.DomainEventIDMetadataChange} {
		var ch <-chan interface{}
		err := c.call("subscribing to the events of "+name, func() (err error) {
			ch, err = c.l.SubscribeEvents(ctx, id, golibvirt.OptDomain{})
			return err
		})
		if err != nil {
			cancel()
			return nil
		}
		go w.collect(ch)
	}
	return w
}

func (w *watch) collect(ch <-chan interface{}) {
	for ev := range ch {
		var e watchEvent
		switch m := ev.(type) {
		case *golibvirt.DomainEventCallbackLifecycleMsg:
			if m.Msg.Dom.Name != w.name || golibvirt.DomainEventType(m.Msg.Event) != golibvirt.DomainEventDefined {
				continue
			}
			e = watchEvent{defined: true, what: "its definition was replaced (virsh define or edit)"}
		case *golibvirt.DomainEventCallbackMetadataChangeMsg:
			if m.Dom.Name != w.name {
				continue
			}
			uri := "its <description> or <title>"
			if len(m.Nsuri) > 0 {
				uri = "its metadata " + m.Nsuri[0]
			}
			e = watchEvent{what: uri + " changed (virsh metadata, or another tool's)"}
		default:
			continue
		}
		w.mu.Lock()
		w.events = append(w.events, e)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// mark is how many events have arrived.
func (w *watch) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// changedSince reports whether a change was announced since mark: the domain
// is being changed right now, and defining would replace it.
func (w *watch) changedSince(mark int) bool { return w.mark() > mark }

// others waits (up to timeout) for the definition nestvirt made, the first
// one announced after mark, and returns what else the daemon announced in
// between: changes that landed after nestvirt's last read and before its own
// definition, which that definition replaced. ok is false when nestvirt's own
// definition was not announced in time (nothing can be said).
func (w *watch) others(mark int, timeout time.Duration) (others []string, ok bool) {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		for i := mark; i < len(w.events); i++ {
			if w.events[i].defined {
				w.mu.Unlock()
				return others, true
			}
			others = append(others, w.events[i].what)
		}
		others = others[:0]
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-deadline:
			return nil, false
		}
	}
}

func (w *watch) close() {
	if w != nil {
		w.cancel()
	}
}

// OverwrittenError says that another writer changed a domain between
// nestvirt's last read of it and its definition, which replaced that change.
type OverwrittenError struct {
	Domain string
	What   []string
}

func (e *OverwrittenError) Error() string {
	return fmt.Sprintf("%s: someone else changed the domain while nestvirt defined its edit (%s), and libvirt has no way to define only if unchanged: that change was overwritten by nestvirt's definition; check it (virsh dumpxml --inactive %s) and make it again", e.Domain, joinDistinct(e.What), e.Domain)
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

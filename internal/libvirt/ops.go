package libvirt

import (
	"errors"
	"fmt"
	"time"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/runlock"
)

// Change is an edit of a domain's persistent definition.
type Change struct {
	Domain  string
	Active  bool // running: the change applies at its next cold boot
	Changed bool
	Notes   []string
	// Before and After are the definition with secrets masked, for a diff.
	Before, After []byte
}

// EditOptions shape an edit of a domain.
type EditOptions struct {
	DryRun bool
	// Persist lets an edit define a transient domain, which makes it persistent.
	Persist bool
}

// ErrTransient refuses an edit that would make a transient domain persistent.
var ErrTransient = errors.New("transient domain")

// ErrConcurrent says someone else changed the definition while nestvirt edited it.
var ErrConcurrent = errors.New("the definition changed while nestvirt edited it")

// lockDomain serialises nestvirt's edits of one domain across processes, with a
// lock in a directory only this user can write (runlock): a lock file others
// can create would let any user block root's edits.
func lockDomain(uri, name string, timeout time.Duration) (func(), error) {
	unlock, err := runlock.Take(runlock.Dir(), runlock.Name("domain", uri, name), timeout)
	if err != nil {
		return nil, fmt.Errorf("waiting for another nestvirt editing %s: %w", name, err)
	}
	return unlock, nil
}

// announceWait bounds the wait for libvirt to announce a definition nestvirt
// made; the daemon queues the event as it defines, so it comes within
// milliseconds, but on a machine whose CPUs are saturated (two vCPUs, the test
// suite's packages in parallel) it once took over 3 s.
const announceWait = 10 * time.Second

// editAttempts bounds how often an edit is redone on a definition someone else
// keeps changing.
const editAttempts = 5

// Edit reads the persistent definition with its secrets (so redefining loses
// none), parses it once and hands it to fn, which decides and edits; the result
// is defined unless DryRun. Just before defining, the definition is read again:
// if someone changed it meanwhile, the edit is redone on theirs (up to
// editAttempts times, then ErrConcurrent). libvirt has no define-if-unchanged,
// so a change that lands between that read and the define is still replaced:
// the domain's events tell, and the edit then returns an OverwrittenError
// naming what was lost, never a quiet success. libvirt applies a definition
// atomically: the domain has the old one or the new one.
func (c *Conn) Edit(name string, o EditOptions, fn func(raw []byte) (domxml.Result, error)) (Change, error) {
	d, err := c.Lookup(name)
	if err != nil {
		return Change{}, err
	}
	persistent, err := c.Persistent(d)
	if err != nil {
		return Change{}, err
	}
	if !persistent && !o.Persist {
		return Change{}, fmt.Errorf("%w: %s exists only while it runs; defining the edit would make it persistent. Give --persist if that is what you want", ErrTransient, name)
	}
	var w *watch
	if !o.DryRun {
		// nestvirt's own edits of a domain take turns (a lock per URI and
		// domain), so the one definition announced after the last read is this
		// edit's; what else the daemon announces in between is someone else's.
		unlock, err := lockDomain(c.URI, name, c.timeout)
		if err != nil {
			return Change{}, err
		}
		defer unlock()
		w = c.watchDomain(name)
		defer w.close()
	}
	for attempt := 0; attempt < editAttempts; attempt++ {
		x, err := c.XML(d, true, true)
		if err != nil {
			return Change{}, err
		}
		res, err := fn([]byte(x))
		if err != nil {
			return Change{}, fmt.Errorf("%s: %w", name, err)
		}
		ch := Change{Domain: name, Active: d.Active, Changed: res.Changed, Notes: res.Notes,
			Before: domxml.MaskSecrets([]byte(x)), After: domxml.MaskSecrets(res.XML)}
		if !res.Changed || o.DryRun {
			return ch, nil
		}
		// The mark is taken before the last read is asked for: a change that
		// read does not show comes after it, and its event after the mark.
		mark := 0
		if w != nil {
			mark = w.mark()
		}
		now, err := c.XML(d, true, true)
		if err != nil {
			return Change{}, err
		}
		if now != x || (w != nil && w.changedSince(mark)) {
			continue // someone else changed it: redo the edit on theirs
		}
		if err := c.Define(string(res.XML)); err != nil {
			return Change{}, fmt.Errorf("%s: %w", name, err)
		}
		if w != nil {
			if others, ok := w.others(mark, announceWait); !ok {
				ch.Notes = append(ch.Notes, "libvirt did not announce the new definition in time: whether someone else changed the domain meanwhile is not known")
			} else if len(others) > 0 {
				return ch, &OverwrittenError{Domain: name, What: others}
			}
		}
		return ch, nil
	}
	return Change{}, fmt.Errorf("%s: %w (%d times); nothing was defined: run it again when the other change is done", name, ErrConcurrent, editAttempts)
}

// Annotate records what a guest runs (and its OS) through libvirt's metadata API,
// keeping nestvirt's other records (what expose replaced). The element is read
// again before it is written: a concurrent change of it is redone once, then
// refused.
func (c *Conn) Annotate(name, runs string, l2 []string, osName string) (domxml.Annotation, error) {
	d, err := c.Lookup(name)
	if err != nil {
		return domxml.Annotation{}, err
	}
	persistent, err := c.Persistent(d)
	if err != nil {
		return domxml.Annotation{}, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		cur, err := c.Metadata(d, domxml.Namespace, !persistent)
		if err != nil {
			return domxml.Annotation{}, err
		}
		var a domxml.Annotation
		if cur != "" {
			if a, err = domxml.ParseAnnotation([]byte(cur)); err != nil {
				return domxml.Annotation{}, err
			}
		}
		a.Runs, a.L2 = runs, l2
		if osName != "" {
			a.OS = osName
		}
		now, err := c.Metadata(d, domxml.Namespace, !persistent)
		if err != nil {
			return domxml.Annotation{}, err
		}
		if now != cur {
			continue
		}
		if err := c.SetMetadata(d, persistent, a.Inner(), domxml.Prefix, domxml.Namespace); err != nil {
			return domxml.Annotation{}, err
		}
		return a, nil
	}
	return domxml.Annotation{}, fmt.Errorf("%s: %w (twice); nothing was written", name, ErrConcurrent)
}

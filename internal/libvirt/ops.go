package libvirt

import (
	"errors"
	"slices"

	"fmt"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/fault"
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
// milliseconds, but on a machine whose CPUs are saturated it takes longer: over
// 3 s once with the test suite's packages in parallel on two vCPUs, and over
// 10 s once in about 3,000 edits of the stress test (nine writers of one
// domain on two vCPUs; TestTheDaemonSurvivesAndNoEditIsLostSilently). Only an
// edit whose announcement is late waits this long; past it, the edit says what
// it cannot tell.
const announceWait = 30 * time.Second

// editAttempts bounds how often an edit is redone on a definition someone else
// keeps changing.
const editAttempts = 5

// Edit reads the persistent definition with its secrets (so redefining loses
// none), parses it once and hands it to fn, which decides and edits; the result
// is defined unless DryRun. Just before defining, the definition is read again:
// if someone changed it meanwhile, the edit is redone on theirs (up to
// editAttempts times, then ErrConcurrent). libvirt has no define-if-unchanged,
// so a change can still land between that read and the define, or just after
// it; the connection's domain events (one subscription, see events) and the
// definition read back after the define tell what happened:
//
//   - another definition after nestvirt's, without nestvirt's edit: the edit
//     is redone on it (nothing of theirs is replaced);
//   - another definition around nestvirt's that nestvirt's may have replaced,
//     or a metadata change that the definition now lacks: an OverwrittenError
//     naming it, never a quiet success;
//   - a metadata change the definition holds: it came after, and is kept.
//
// libvirt applies a definition atomically: the domain has the old one or the new
// one.
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
		return Change{}, fault.Refused{Err: fmt.Errorf("%w: %s exists only while it runs; defining the edit would make it persistent. Give --persist if that is what you want", ErrTransient, name)}
	}
	var ev *events
	if !o.DryRun {
		// nestvirt's own edits of a domain take turns (a lock per URI and
		// domain): every other definition announced meanwhile is someone else's.
		unlock, err := lockDomain(c.URI, name, c.timeout)
		if err != nil {
			return Change{}, err
		}
		defer unlock()
		if ev = c.subscribe(); ev != nil {
			ev.watch(name)
		}
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
		if ev != nil {
			mark = ev.mark()
		}
		now, err := c.XML(d, true, true)
		if err != nil {
			return Change{}, err
		}
		if ev != nil {
			if defs, meta := ev.since(mark, name); defs > 0 || len(meta) > 0 {
				continue // someone is changing it right now: redo on theirs
			}
		}
		if now != x {
			continue // someone else changed it: redo the edit on theirs
		}
		if err := c.Define(string(res.XML)); err != nil {
			return Change{}, fmt.Errorf("%s: %w", name, err)
		}
		if ev == nil {
			return ch, nil
		}
		// The read after the define is a barrier: the daemon announced its
		// definition before it answered a request made after it.
		if _, err := c.XML(d, true, true); err != nil {
			return ch, fmt.Errorf("%s: reading the definition back: %w", name, err)
		}
		if !ev.settle(mark, name, announceWait) {
			ch.Notes = append(ch.Notes, "libvirt did not announce the new definition in time: whether someone else changed the domain meanwhile is not known")
			return ch, nil
		}
		after, stable, err := c.readStable(d, ev)
		if err != nil {
			return ch, fmt.Errorf("%s: reading the definition back: %w", name, err)
		}
		redo, kept, lost, err := judgeOutcome(ev, mark, name, res.XML, after, stable, fn)
		if err != nil {
			return ch, fmt.Errorf("%s: %w", name, err)
		}
		if len(lost) > 0 {
			return ch, &OverwrittenError{Domain: name, What: lost}
		}
		if redo {
			continue
		}
		ch.Notes = append(ch.Notes, kept...)
		return ch, nil
	}
	return Change{}, fmt.Errorf("%s: %w (%d times); nothing was defined: run it again when the other change is done", name, ErrConcurrent, editAttempts)
}

// readStable reads the definition so that it reflects exactly the events
// collected: no event arrived while it was read (a change made before the
// read is announced before the read's answer, and is collected within the
// quiet time). stable is false when the domain kept changing.
func (c *Conn) readStable(d Domain, ev *events) ([]byte, bool, error) {
	var x string
	for try := 0; try < 5; try++ {
		n := ev.mark()
		var err error
		if x, err = c.XML(d, true, true); err != nil {
			return nil, false, err
		}
		ev.quiet()
		if ev.mark() == n {
			return []byte(x), true, nil
		}
	}
	return []byte(x), false, nil
}

// judgeOutcome reads what happened around nestvirt's definition of ours: the
// events after mark and the definition read back with exactly those changes
// in it (after, when stable). One definition announced is nestvirt's own.
//
//   - Another definition that lacks nestvirt's edit came after it and replaced
//     it: redo, on theirs.
//   - Exactly one other definition, no metadata change, and the domain is not
//     what nestvirt defined although it has nestvirt's edit: theirs came after
//     nestvirt's and kept its edit; nothing of theirs was replaced (kept).
//   - Any other definition may have been replaced by nestvirt's (lost).
//   - A metadata change is kept when the domain holds something other than
//     what nestvirt defined there, and lost when it holds exactly that.
func judgeOutcome(ev *events, mark int, name string, ours, after []byte, stable bool, fn func(raw []byte) (domxml.Result, error)) (redo bool, kept, lost []string, err error) {
	defs, meta := ev.since(mark, name)
	if !stable {
		return false, nil, []string{"the domain kept changing as nestvirt read it back, so what its definition replaced cannot be told"}, nil
	}
	if defs > 1 {
		again, err := fn(after)
		if err != nil {
			return false, nil, nil, err
		}
		switch {
		case again.Changed:
			return true, nil, nil, nil
		case defs == 2 && len(meta) == 0 && !domxml.SameDefinition(after, ours):
			kept = append(kept, "another definition (virsh define or edit) followed nestvirt's and kept its edit")
		default:
			lost = append(lost, fmt.Sprintf("%d other definitions (virsh define or edit) landed as nestvirt defined its own", defs-1))
		}
		if len(meta) > 0 {
			return false, kept, lost, nil // covered: the definitions decide
		}
	}
	for _, m := range meta {
		key := domxml.MetadataKey{URI: m.uri, Kind: metadataKinds[m.kind]}
		now, _, err1 := domxml.MetadataValue(after, key)
		mine, _, err2 := domxml.MetadataValue(ours, key)
		if err1 != nil || err2 != nil || now == mine {
			lost = append(lost, describe(key)+" changed (virsh metadata, or another tool's)")
		}
	}
	return false, kept, lost, nil
}

var metadataKinds = map[int32]string{
	int32(golibvirt.DomainMetadataDescription): "description",
	int32(golibvirt.DomainMetadataTitle):       "title",
	int32(golibvirt.DomainMetadataElement):     "element",
}

func describe(k domxml.MetadataKey) string {
	switch k.Kind {
	case "description", "title":
		return "its <" + k.Kind + ">"
	}
	return "its metadata " + k.URI
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
	unlock, err := lockDomain(c.URI, name, c.timeout)
	if err != nil {
		return domxml.Annotation{}, err
	}
	defer unlock()
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
		// A definition from an older read (virsh edit) replaces the whole
		// domain: read the record back, and redo it once if it is gone.
		back, err := c.Metadata(d, domxml.Namespace, !persistent)
		if err != nil {
			return domxml.Annotation{}, err
		}
		if got, err := domxml.ParseAnnotation([]byte(back)); err != nil || got.Runs != a.Runs || !slices.Equal(got.L2, a.L2) || got.OS != a.OS {
			continue
		}
		return a, nil
	}
	return domxml.Annotation{}, fmt.Errorf("%s: %w (twice): someone else changed or replaced the record each time; run it again when the other change is done", name, ErrConcurrent)
}

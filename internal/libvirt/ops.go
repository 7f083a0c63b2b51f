package libvirt

import (
	"errors"
	"fmt"

	"github.com/nestvirt/nestvirt/internal/domxml"
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

// Edit reads the persistent definition with its secrets (so redefining loses
// none), parses it once and hands it to fn, which decides and edits; the result
// is defined unless DryRun. Just before defining, the definition is read again: if
// someone changed it meanwhile, the edit is redone on the new one once, and then
// refused, so no concurrent change is reverted. libvirt applies a definition
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
	for attempt := 0; attempt < 2; attempt++ {
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
		now, err := c.XML(d, true, true)
		if err != nil {
			return Change{}, err
		}
		if now != x {
			continue // someone else changed it: redo the edit on theirs
		}
		if err := c.Define(string(res.XML)); err != nil {
			return Change{}, fmt.Errorf("%s: %w", name, err)
		}
		return ch, nil
	}
	return Change{}, fmt.Errorf("%s: %w (twice); nothing was defined: run it again when the other change is done", name, ErrConcurrent)
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

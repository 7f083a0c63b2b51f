package libvirt

import (
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

// edit fetches the persistent definition with its secrets (so redefining loses
// none), applies fn, and defines the result unless dryRun. libvirt applies a
// definition atomically: the domain has the old one or the new one.
func (c *Conn) edit(name string, dryRun bool, fn func([]byte) (domxml.Result, error)) (Change, error) {
	d, err := c.Lookup(name)
	if err != nil {
		return Change{}, err
	}
	x, err := c.XML(d, true, true)
	if err != nil {
		return Change{}, err
	}
	res, err := fn([]byte(x))
	if err != nil {
		return Change{}, fmt.Errorf("%s: %w", name, err)
	}
	ch := Change{Domain: name, Active: d.Active, Changed: res.Changed, Notes: res.Notes,
		Before: MaskSecrets([]byte(x)), After: MaskSecrets(res.XML)}
	if !res.Changed || dryRun {
		return ch, nil
	}
	if err := c.Define(string(res.XML)); err != nil {
		return Change{}, fmt.Errorf("%s: %w", name, err)
	}
	return ch, nil
}

// Expose makes a domain's persistent definition expose virtualization.
func (c *Conn) Expose(name string, o domxml.ExposeOptions, dryRun bool) (Change, error) {
	return c.edit(name, dryRun, func(x []byte) (domxml.Result, error) { return domxml.Expose(x, o) })
}

// Unexpose restores what Expose replaced.
func (c *Conn) Unexpose(name string, dryRun bool) (Change, error) {
	return c.edit(name, dryRun, domxml.Unexpose)
}

// Annotate records what a guest runs (and its OS) through libvirt's metadata API,
// keeping nestvirt's other records (what expose replaced).
func (c *Conn) Annotate(name, runs string, l2 []string, osName string) (domxml.Annotation, error) {
	d, err := c.Lookup(name)
	if err != nil {
		return domxml.Annotation{}, err
	}
	cur, err := c.Metadata(d, domxml.Namespace)
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
	if err := c.SetMetadata(d, a.Inner(), domxml.Prefix, domxml.Namespace); err != nil {
		return domxml.Annotation{}, err
	}
	return a, nil
}

package report

import (
	"bytes"
	"io"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/nestvirt/nestvirt/internal/domxml"
)

// Diff writes a unified diff of one file that patch(1) applies as it is: paths as
// a/NAME and b/NAME (patch -p1), /dev/null for a file that does not exist yet,
// and "\ No newline at end of file" where a side lacks its final newline. The
// hunks are go-udiff's (the Myers/LCS diff of gopls and the go command, kept
// as a library), with three lines of context as diff -u.
func Diff(w io.Writer, name string, before, after []byte, created bool) error {
	return diff(w, name, before, after, created, false)
}

// DiffRemove is Diff of a file that is removed: to /dev/null, which patch
// reads as a deletion.
func DiffRemove(w io.Writer, name string, before []byte) error {
	return diff(w, name, before, nil, false, true)
}

func diff(w io.Writer, name string, before, after []byte, created, removed bool) error {
	if bytes.Equal(before, after) {
		return nil
	}
	name = strings.TrimPrefix(name, "/")
	from, to := "a/"+name, "b/"+name
	if created {
		from = "/dev/null"
	}
	if removed {
		to = "/dev/null"
	}
	a, b := string(before), string(after)
	u, err := udiff.ToUnified(from, to, a, udiff.Lines(a, b), udiff.DefaultContextLines)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, u)
	return err
}

// DefinitionDiff is Diff of a domain definition, its secrets masked on both
// sides (domxml.MaskSecrets): a dry run never prints a password.
func DefinitionDiff(w io.Writer, name string, before, after []byte) error {
	return Diff(w, name, domxml.MaskSecrets(before), domxml.MaskSecrets(after), false)
}

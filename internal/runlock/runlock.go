// Package runlock takes the locks that make nestvirt's own processes take turns
// (an edit of one libvirt domain, an edit of modprobe.d) in a directory only the
// user running nestvirt can write: /run/nestvirt for root (mode 0700). A lock
// file in a directory others can write (/run/lock) has a name anyone can
// predict, and a user who creates it first and holds it blocks root's edits.
package runlock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dir is where the locks of a process with this effective user are: for root,
// /run/nestvirt; for another user, nestvirt in $XDG_RUNTIME_DIR (systemd's
// per-user runtime directory, mode 0700), else nestvirt-UID in the temporary
// directory.
func Dir() string {
	uid := os.Geteuid()
	if uid == 0 {
		return "/run/nestvirt"
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(rt) {
		return filepath.Join(rt, "nestvirt")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("nestvirt-%d", uid))
}

// ErrUntrusted says a lock directory or file belongs to someone else or others
// can write it: the lock is not taken, and nothing is edited.
var ErrUntrusted = errors.New("not this user's alone")

// Name is a lock's file name for a key (a URI and a domain, a tree's path): a
// hash, so any key makes a plain file name.
func Name(kind string, key ...string) string {
	h := sha256.New()
	for _, k := range key {
		h.Write([]byte(k))
		h.Write([]byte{0})
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil)[:8]) + ".lock"
}

//go:build windows

package fsroot

import (
	"io/fs"
	"os"
)

const nonBlock = 0

// syncDir is a no-op: Windows cannot sync a directory handle, and NTFS journals
// the rename itself.
func (d *Dir) syncDir(dir string) error { return nil }

func chownLike(f *os.File, like fs.FileInfo) error { return nil }

// Owner is unknown on Windows.
func Owner(fi fs.FileInfo) int { return -1 }

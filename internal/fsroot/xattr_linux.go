//go:build linux

package fsroot

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// keptXattrs are the extended attributes a rewritten file keeps: its SELinux
// label (RHEL labels /etc/modprobe.d files modules_conf_t) and the user's own.
func keptXattr(name string) bool {
	return name == "security.selinux" || strings.HasPrefix(name, "user.")
}

// copyXattrs gives dst the kept extended attributes of src, so a file nestvirt
// rewrites by renaming a new one over it keeps its label. A file system
// without extended attributes has none to keep.
func copyXattrs(dst, src *os.File) error {
	buf := make([]byte, 64<<10)
	n, err := unix.Flistxattr(int(src.Fd()), buf)
	if errors.Is(err, unix.ENOTSUP) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the extended attributes of %s: %w", src.Name(), err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if name == "" || !keptXattr(name) {
			continue
		}
		val := make([]byte, 64<<10)
		m, err := unix.Fgetxattr(int(src.Fd()), name, val)
		if err != nil {
			return fmt.Errorf("reading %s of %s: %w", name, src.Name(), err)
		}
		if err := unix.Fsetxattr(int(dst.Fd()), name, val[:m], 0); err != nil {
			return fmt.Errorf("keeping %s (%s) on the new %s: %w", name, val[:m], src.Name(), err)
		}
	}
	return nil
}

package libvirt

import (
	"strconv"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// Started says when the local libvirt daemon (libvirtd, or virtqemud under
// the modular daemons) started, from its pid file under root's /run and its
// /proc entry: the start time in clock ticks after boot, and the boot time.
// libvirt looks for hooks only when it starts, so a hook installed after has
// not been found. ok is false when it cannot be told.
func Started(root *fsroot.Dir) (started time.Time, daemon string, ok bool) {
	statB, _, err := root.ReadFile("proc/stat", 1<<20)
	if err != nil {
		return time.Time{}, "", false
	}
	var btime int64
	for l := range strings.Lines(string(statB)) {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			btime, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	for _, name := range []string{"libvirtd", "virtqemud"} {
		pidB, _, err := root.ReadFile("run/"+name+".pid", 64)
		if err != nil {
			continue
		}
		pid := strings.TrimSpace(string(pidB))
		if _, err := strconv.Atoi(pid); err != nil {
			continue // a pid file that names no process: no path is built from it
		}
		st, _, err := root.ReadFile("proc/"+pid+"/stat", 4096)
		if err != nil {
			continue
		}
		// Field 22 (starttime) counts after the ")" that ends the command name,
		// which may itself hold spaces and parentheses.
		rest := string(st)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) < 20 || btime == 0 {
			continue
		}
		ticks, err := strconv.ParseInt(fields[19], 10, 64)
		if err != nil {
			continue
		}
		const hz = 100 // USER_HZ on every Linux arch nestvirt runs on
		return time.Unix(btime+ticks/hz, (ticks%hz)*int64(time.Second/hz)), name, true
	}
	return time.Time{}, "", false
}

// StartedHere is Started for this machine's own daemon.
func StartedHere() (started time.Time, daemon string, ok bool) {
	root, err := fsroot.Open("/")
	if err != nil {
		return time.Time{}, "", false
	}
	defer root.Close()
	return Started(root)
}

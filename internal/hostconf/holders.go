package hostconf

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// maxProcs bounds the processes KVMHolders looks at, for a hostile tree.
const maxProcs = 1 << 16

// Holder is a process that holds /dev/kvm open: a VM, whoever started it.
type Holder struct {
	PID  int
	Comm string // the program, as /proc/PID/comm names it
	Name string // the VM's name where its command line gives one (QEMU's -name)
}

func (h Holder) String() string {
	if h.Name != "" {
		return fmt.Sprintf("%s (pid %d, %s)", h.Comm, h.PID, h.Name)
	}
	return fmt.Sprintf("%s (pid %d)", h.Comm, h.PID)
}

// KVMHolders lists the processes that hold /dev/kvm open, read from root's
// /proc: every VM running now, whoever started it (libvirt, a bare QEMU, a CI
// runner's own VMM), which libvirt's list alone misses. hidden counts the
// processes this user may not look into (another user's, as non-root).
func KVMHolders(root *fsroot.Dir) (holders []Holder, hidden int) {
	return holdersOf(root, "/dev/kvm")
}

// holdersOf lists the processes that hold target open.
func holdersOf(root *fsroot.Dir, target string) (holders []Holder, hidden int) {
	ents, err := root.ReadDir("proc")
	if err != nil {
		return nil, 0
	}
	seen := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if seen++; seen > maxProcs {
			break
		}
		dir := "proc/" + e.Name()
		fds, err := root.ReadDir(dir + "/fd")
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				hidden++
			}
			continue // gone, or not a process directory
		}
		for _, fd := range fds {
			if t, err := root.Readlink(dir + "/fd/" + fd.Name()); err == nil && t == target {
				holders = append(holders, describe(root, dir, pid))
				break
			}
		}
	}
	return holders, hidden
}

func describe(root *fsroot.Dir, dir string, pid int) Holder {
	h := Holder{PID: pid, Comm: "?"}
	if b, _, err := root.ReadFile(dir+"/comm", 256); err == nil {
		h.Comm = strings.TrimSpace(string(b))
	}
	if b, _, err := root.ReadFile(dir+"/cmdline", 1<<20); err == nil {
		h.Name = qemuName(strings.Split(string(b), "\x00"))
	}
	return h
}

// qemuName reads QEMU's -name option: "guest=win11,debug-threads=on" or "win11".
func qemuName(argv []string) string {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] != "-name" {
			continue
		}
		for _, part := range strings.Split(argv[i+1], ",") {
			if v, ok := strings.CutPrefix(part, "guest="); ok {
				return v
			}
			if !strings.Contains(part, "=") {
				return part
			}
		}
	}
	return ""
}

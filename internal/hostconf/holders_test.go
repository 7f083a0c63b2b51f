package hostconf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// TestARunningVMOutsideLibvirtBlocksAReloadAndIsNamed: a QEMU started by hand
// (or by a CI runner) holds /dev/kvm without libvirt knowing; applying now is
// refused, and the refusal names it.
func TestARunningVMOutsideLibvirtBlocksAReloadAndIsNamed(t *testing.T) {
	root := tree(t, "intel-l0-nesting-off")
	write(t, root, "proc/4242/comm", "qemu-system-x86\n")
	write(t, root, "proc/4242/cmdline", "qemu-system-x86_64\x00-enable-kvm\x00-name\x00guest=ci-runner,debug-threads=on\x00")
	os.MkdirAll(filepath.Join(root, "proc/4242/fd"), 0o755)
	os.Symlink("/dev/kvm", filepath.Join(root, "proc/4242/fd/11"))
	write(t, root, "proc/77/comm", "bash\n")
	os.MkdirAll(filepath.Join(root, "proc/77/fd"), 0o755)
	os.Symlink("/dev/null", filepath.Join(root, "proc/77/fd/0"))
	d, err := fsroot.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	holders, hidden := KVMHolders(d)
	if len(holders) != 1 || holders[0].String() != "qemu-system-x86 (pid 4242, ci-runner)" || hidden != 0 {
		t.Fatalf("holders %v, hidden %d", holders, hidden)
	}
	_, err = PlanNested(d, probeTree(t, root), Request{Enable: true, Now: true}, Tree{Root: d}, nil, errors.New("libvirt is not reachable"))
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "processes using /dev/kvm: qemu-system-x86 (pid 4242, ci-runner)") {
		t.Errorf("err = %s", err)
	}
	// Named by libvirt already: not listed twice.
	_, err = PlanNested(d, probeTree(t, root), Request{Enable: true, Now: true}, Tree{Root: d}, []string{"ci-runner"}, nil)
	if err == nil || strings.Count(err.Error(), "ci-runner") != 1 {
		t.Errorf("err = %s", err)
	}
}

// TestHoldersAreReadFromTheLiveProc: on the live machine, this process holding
// a file open is found the way a VM holding /dev/kvm is (scripts/e2e.sh sees a
// real one).
func TestHoldersAreReadFromTheLiveProc(t *testing.T) {
	f, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := fsroot.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	holders, _ := holdersOf(d, "/dev/null")
	for _, h := range holders {
		if h.PID == os.Getpid() && h.Comm != "?" {
			return
		}
	}
	t.Errorf("this process (pid %d) holds /dev/null but is not among %v", os.Getpid(), holders)
}

func TestQemuName(t *testing.T) {
	for argv, want := range map[string]string{
		"qemu\x00-name\x00guest=win11,debug-threads=on": "win11",
		"qemu\x00-name\x00lab":                          "lab",
		"qemu\x00-m\x00256":                             "",
		"qemu\x00-name":                                 "",
	} {
		if got := qemuName(strings.Split(argv, "\x00")); got != want {
			t.Errorf("%q: %q, want %q", argv, got, want)
		}
	}
}

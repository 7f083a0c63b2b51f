//go:build integration

package guard

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/libvirt/libvirttest"
)

// This test installs the guard into the real libvirtd's hook directory and
// restarts the daemon (libvirtd reads the directory at start), so scripts/test.sh
// runs test packages one at a time. Without a libvirtd it fails.

func virsh(args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	return string(out), err
}

func restartLibvirtd(t *testing.T) {
	t.Helper()
	if b, err := os.ReadFile("/run/libvirtd.pid"); err == nil {
		exec.Command("kill", strings.TrimSpace(string(b))).Run()
		for i := 0; i < 100; i++ {
			if _, err := os.Stat("/run/libvirt/libvirt-sock"); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if out, err := exec.Command("libvirtd", "-d").CombinedOutput(); err != nil {
		t.Fatalf("libvirtd -d: %v %s", err, out)
	}
	for i := 0; i < 200; i++ {
		if _, err := virsh("version"); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("libvirtd did not come back")
}

func TestIntegrationGuardStopsAHugePageGuestOnIBMZAndAMDMigrations(t *testing.T) {
	if _, err := virsh("version"); err != nil {
		t.Fatalf("this test needs a running libvirtd (bash scripts/libvirtd.sh): %s", err)
	}
	// The hook must run a binary only root can replace, outside temporary paths.
	dir, err := os.MkdirTemp("/var/lib", "nestvirt-guard-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "nestvirt")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/nestvirt")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	if err := CheckBinary(bin); err != nil {
		t.Fatal(err)
	}
	z, _ := filepath.Abs(snapshots + "s390x-level2/root")
	hooks := "/etc/libvirt/hooks"
	path, err := Install(hooks, Config{Binary: bin, Mode: Enforce, Root: z})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Uninstall(hooks) })
	t.Cleanup(func() {
		for _, n := range []string{"huge", "plain"} {
			os.Remove(fmt.Sprintf("/var/log/libvirt/qemu/nvguard-%d-%s.log", os.Getpid(), n))
		}
	})
	restartLibvirtd(t)

	define := func(name, xml string) {
		xml, err := libvirttest.Prepare(xml, name)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), name+".xml")
		os.WriteFile(f, []byte(xml), 0o644)
		if out, err := virsh("define", f); err != nil {
			t.Fatalf("define: %v %s", err, out)
		}
		t.Cleanup(func() { virsh("destroy", name); virsh("undefine", name) })
	}
	pid := os.Getpid()
	huge := fmt.Sprintf("nvguard-%d-huge", pid)
	plain := fmt.Sprintf("nvguard-%d-plain", pid)
	define(huge, "<domain type='kvm'><name>"+huge+"</name><memory unit='MiB'>64</memory><memoryBacking><hugepages/></memoryBacking><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>")
	define(plain, "<domain type='kvm'><name>"+plain+"</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>")

	out, err := virsh("start", huge)
	if err == nil || !strings.Contains(out, "nestvirt guard refuses the start of "+huge) || !strings.Contains(out, "s390x-hugepages") {
		t.Errorf("a huge-page guest on an IBM Z host with nesting on started: %v\n%s", err, out)
	}
	if out, err := virsh("start", plain); err != nil {
		t.Errorf("a plain guest was refused (the level-2 finding only warns): %v\n%s", err, out)
	}

	// libvirt calls the hook on the destination of a migration: DOMAIN migrate begin -,
	// with the domain XML on stdin. Call the installed script the same way, on an
	// AMD host with nesting on.
	amd, _ := filepath.Abs(snapshots + "amd-l0-nested/root")
	if _, err := Install(hooks, Config{Binary: bin, Mode: Enforce, Root: amd}); err != nil {
		t.Fatal(err)
	}
	xml, _ := virsh("dumpxml", "--migratable", plain)
	// The incoming guest is a KVM guest (the AMD finding is about KVM's nested
	// SVM state; an emulated guest does not use kvm_amd), whatever this machine
	// could define: without KVM, libvirttest.Prepare made it type='qemu'.
	xml = strings.Replace(xml, "<domain type='qemu'", "<domain type='kvm'", 1)
	cmd := exec.Command(path, plain, "migrate", "begin", "-")
	cmd.Stdin = strings.NewReader(xml)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err == nil || !strings.Contains(stderr.String(), "refuses the incoming migration") || stdout.Len() != 0 {
		t.Errorf("migrate: err %v, stdout %q (must be empty: libvirt reads it as XML), stderr %s", err, stdout.String(), stderr.String())
	}
	if _, _, err := Uninstall(hooks); err != nil {
		t.Error(err)
	}

	// The binary gone (a package upgrade, an rm): the start goes on, and says why.
	if _, err := Install(hooks, Config{Binary: bin, Mode: Enforce, Root: z}); err != nil {
		t.Fatal(err)
	}
	os.Remove(bin)
	virsh("destroy", plain)
	if out, err := virsh("start", plain); err != nil {
		t.Errorf("with nestvirt gone, a VM start failed: %v\n%s", err, out)
	}
}

//go:build integration

// Package deploy holds what runs nestvirt on a schedule: a Kubernetes DaemonSet
// for Node Feature Discovery, and systemd units for a Prometheus textfile and an
// NFD feature file. Its test holds the units to what systemd accepts; the
// DaemonSet is decoded into Kubernetes' own types in the tools module
// (tools/deploy), so nestvirt's go.mod does not carry k8s.io.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTheSystemdUnitsVerify runs systemd-analyze verify over the units: any
// complaint (an unknown setting, a bad value) fails, even the ones it only warns of.
func TestTheSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is needed (Debian's systemd package): %v", err)
	}
	units, _ := filepath.Glob("systemd/*.service")
	timers, _ := filepath.Glob("systemd/*.timer")
	if len(units) == 0 || len(timers) == 0 {
		t.Fatalf("units %v timers %v", units, timers)
	}
	for _, u := range append(units, timers...) {
		body, _ := os.ReadFile(u)
		for _, want := range []string{"[Unit]", "Description="} {
			if !bytes.Contains(body, []byte(want)) {
				t.Errorf("%s: no %s", u, want)
			}
		}
	}
	cmd := exec.Command(analyze, append([]string{"verify"}, append(units, timers...)...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestTheAlertRulesCheckAndFire: promtool accepts the shipped alert rules, and
// its rule unit tests show each alert firing on the series nestvirt writes for
// its case and quiet on the others.
func TestTheAlertRulesCheckAndFire(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is needed (Debian's prometheus package; scripts/test.sh installs it): %v", err)
	}
	for _, args := range [][]string{{"check", "rules", "nestvirt.rules.yml"}, {"test", "rules", "nestvirt.rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// TestTheImageBuildsAndRunsTheDaemonSetsLoop builds the image with
// scripts/image.sh (buildah, offline: FROM scratch), then runs what the
// DaemonSet runs inside its root file system: busybox's shell, nestvirt of the
// version the tag names, a check of this node through /host writing the NFD file.
func TestTheImageBuildsAndRunsTheDaemonSetsLoop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("building and mounting an image needs root (CI runs the tests as root)")
	}
	for _, tool := range []string{"buildah", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (scripts/test.sh installs buildah and busybox-static)", tool)
		}
	}
	version, _ := os.ReadFile("../VERSION")
	tag := "localhost/nestvirt-test:" + string(bytes.TrimSpace(version))
	env := append(os.Environ(), "STORAGE_DRIVER=vfs", "BUILDAH_ISOLATION=chroot", "BUILDER=buildah", "IMAGE=localhost/nestvirt-test")
	build := exec.Command("bash", "../scripts/image.sh")
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("image.sh: %v\n%s", err, out)
	}
	buildah := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("buildah", args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("buildah %v: %v %s", args, err, out)
		}
		return string(bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("buildah", "--storage-driver", "vfs", "rmi", "-f", tag).Run() })
	if got := buildah("inspect", "--format", `{{index .ImageAnnotations "org.opencontainers.image.version"}}{{index .OCIv1.Config.Labels "org.opencontainers.image.version"}}`, tag); got != string(bytes.TrimSpace(version)) {
		t.Errorf("the image's version label is %q", got)
	}
	ctr := buildah("from", tag)
	t.Cleanup(func() { exec.Command("buildah", "--storage-driver", "vfs", "rm", ctr).Run() })
	mnt := buildah("mount", ctr)
	t.Cleanup(func() { exec.Command("buildah", "--storage-driver", "vfs", "umount", ctr).Run() })
	// The DaemonSet's mounts: the node's trees under /host, features.d writable.
	for _, d := range []string{"host/sys", "host/proc", "host/etc", "host/dev", "features.d", "tmp"} {
		if err := os.MkdirAll(filepath.Join(mnt, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"sys", "proc", "etc", "dev"} {
		if out, err := exec.Command("mount", "--rbind", "-o", "ro", "/"+d, filepath.Join(mnt, "host", d)).CombinedOutput(); err != nil {
			t.Fatalf("mount /%s: %v %s", d, err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-R", "-l", filepath.Join(mnt, "host", d)).Run() })
	}
	loop := `nestvirt version && nestvirt check --host-root /host --format nfd --fail-on never --output /features.d/nestvirt && busybox sleep 0`
	out, err := exec.Command("chroot", mnt, "/bin/busybox", "sh", "-c", loop).CombinedOutput()
	if err != nil {
		t.Fatalf("the DaemonSet's loop in the image: %v\n%s", err, out)
	}
	if !bytes.Contains(out, bytes.TrimSpace(version)) {
		t.Errorf("nestvirt version in the image:\n%s", out)
	}
	nfd, err := os.ReadFile(filepath.Join(mnt, "features.d/nestvirt"))
	if err != nil || !bytes.Contains(nfd, []byte("nestvirt.dev/check-ok=true")) {
		t.Errorf("the NFD file: %v\n%s", err, nfd)
	}
}

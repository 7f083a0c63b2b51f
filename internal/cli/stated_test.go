package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/libvirt"
)

// brokenTree is a snapshot of an Intel host ready to nest whose host.yaml has a
// typo: what it states cannot be used.
func brokenTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(snapshots+"intel-l0-nesting-off/root")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "etc/nestvirt"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/nestvirt/host.yaml"), []byte("migration: maybe\n"), 0o644)
	return root
}

// TestABrokenHostYAMLNeverBlocksARemedy: enable, disable and expose worked on
// no host with a typo in host.yaml (exit 2), while the guard tolerated it and
// check recommended exactly them. They work and name the problem; check and
// vms judge the machine without what it states, and end as bad input (2).
func TestABrokenHostYAMLNeverBlocksARemedy(t *testing.T) {
	root := brokenTree(t)
	for _, args := range [][]string{
		{"enable", "--root", root, "--dry-run"},
		{"disable", "--root", root, "--dry-run"},
		{"expose", "--file", "../domxml/testdata/plain.xml", "--root", root, "--dry-run"},
	} {
		_, stderr, code := nv(t, "", args...)
		if code != ExitOK || !strings.Contains(stderr, "host.yaml:1:12") || !strings.Contains(stderr, "what it states is unknown here") {
			t.Errorf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	// enable itself, not only its dry run.
	if out, stderr, code := nv(t, "", "enable", "--root", root); code != ExitOK || !strings.Contains(out, "nesting is on now") {
		t.Errorf("enable: exit %d\n%s%s", code, out, stderr)
	}
	out, stderr, code := nv(t, "", "check", "--root", brokenTree(t), "--format", "json")
	if code != ExitInput || !strings.Contains(out, `"host": {`) || !strings.Contains(out, "host.yaml: not used") || !strings.Contains(stderr, "migration") {
		t.Errorf("check: exit %d\n%.2000s\n%s", code, out, stderr)
	}
	out, _, code = nv(t, "", "check", "--root", brokenTree(t))
	if code != ExitInput || !strings.Contains(out, "This machine: ") {
		t.Errorf("check (text): exit %d\n%.2000s", code, out)
	}
	d := dialing(func(libvirt.Options) (daemon, error) { return recordedDaemon(t, true), nil })
	out, _, code = d.nv(t, "", "vms", "--root", brokenTree(t), "--format", "json")
	if code != ExitInput || !strings.Contains(out, `"vms": [`) || strings.Contains(out, `"vms": []`) {
		t.Errorf("vms: exit %d\n%.2000s", code, out)
	}
}

// TestRemoteStatementsAreGivenForThatHost: for another host's daemon, what is
// stated about it comes from --migrates, --l0-os and --host-config (its own
// host.yaml given here), never from this machine.
func TestRemoteStatementsAreGivenForThatHost(t *testing.T) {
	// A KVM guest (the recording's are QEMU-emulated: the page's AMD
	// limitation is about KVM).
	kvm, err := os.ReadFile("../domxml/testdata/plain.xml")
	if err != nil {
		t.Fatal(err)
	}
	d := dialing(func(libvirt.Options) (daemon, error) {
		return recordedDaemon(t, false, domxml.Record{Name: "nv-kvm", State: "shut off", XML: kvm}), nil
	})
	out, _, _ := d.nv(t, "", "vms", "-c", "qemu+ssh://amd-host/system", "--format", "json")
	if !strings.Contains(out, `"migration": null`) || !strings.Contains(out, "amd-migration") {
		t.Errorf("unstated: the AMD migration finding must show, undetermined:\n%.3000s", out)
	}
	cfg := filepath.Join(t.TempDir(), "amd-host.yaml")
	os.WriteFile(cfg, []byte("migration: false\n"), 0o644)
	out, _, _ = d.nv(t, "", "vms", "-c", "qemu+ssh://amd-host/system", "--host-config", cfg, "--format", "json")
	if !strings.Contains(out, `"migration": false`) || !strings.Contains(out, cfg+":1") {
		t.Errorf("--host-config:\n%.3000s", out)
	}
	os.WriteFile(cfg, []byte("migration: maybe\n"), 0o644)
	if _, stderr, code := d.nv(t, "", "vms", "-c", "qemu+ssh://amd-host/system", "--host-config", cfg); code != ExitInput || !strings.Contains(stderr, cfg+":1:12") {
		t.Errorf("a --host-config with a typo: exit %d %s", code, stderr)
	}
}

// TestQuietMeansOneThing: -q is the verdict and the findings that decide it,
// in check, vms and plan alike: nothing undetermined (an undetermined finding
// decides no verdict; vms -q repeated three of them for each of four shut-off
// VMs while check -q hid them), and no finding better than the verdict.
func TestQuietMeansOneThing(t *testing.T) {
	d := dialing(func(libvirt.Options) (daemon, error) { return recordedDaemon(t, true), nil })
	for name, run := range map[string]func() string{
		"check": func() string {
			out, _, _ := nv(t, "", "check", "-q", "--root", snapshots+"rhel96-l1-on-kvm/root")
			return out
		},
		"vms": func() string {
			out, _, _ := d.nv(t, "", "vms", "-q", "--root", snapshots+"rhel96-l1-on-kvm/root")
			return out
		},
		"plan": func() string { out, _, _ := nv(t, "", "plan", "-q", "../../examples/"); return out },
	} {
		out := run()
		if strings.Contains(out, "undetermined") || strings.Contains(out, "rests on") {
			t.Errorf("%s -q shows undetermined findings:\n%s", name, out)
		}
		if !strings.Contains(out, "unsupported") && !strings.Contains(out, "does-not-work") && !strings.Contains(out, "untested") && !strings.Contains(out, "not-expected-to-work") {
			t.Errorf("%s -q says no verdict:\n%s", name, out)
		}
	}
}

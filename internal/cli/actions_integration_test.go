//go:build integration

package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nestvirt/nestvirt/internal/actions"
	"github.com/nestvirt/nestvirt/internal/guard"
	"github.com/nestvirt/nestvirt/internal/libvirt/libvirttest"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// TestVMActionsAreWhatExposeDoes: each VM's expose and unexpose in vms's
// document agree with their dry runs against the real daemon, before and
// after the expose is carried out; a domain named like a flag is acted on as
// a name, because the commands put "--" before it.
func TestVMActionsAreWhatExposeDoes(t *testing.T) {
	amd := snapshots + "amd-l0-nested/root"
	plain := defineDomain(t, "plain.xml")
	flagLike := "--persist"
	x, err := libvirttest.Prepare("<domain type='kvm'><name>x</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>", flagLike)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "d.xml")
	os.WriteFile(f, []byte(x), 0o644)
	if out, err := exec.Command("virsh", "-c", "qemu:///system", "define", f).CombinedOutput(); err != nil {
		t.Fatalf("define %s: %v %s", flagLike, err, out)
	}
	t.Cleanup(func() { exec.Command("virsh", "-c", "qemu:///system", "undefine", "--", flagLike).Run() })

	listed := func() map[string][]actions.Action {
		t.Helper()
		out, stderr, _ := nv(t, "", "vms", "--root", amd, "--format", "json", "--fail-on", "never")
		var d struct {
			VMs []struct {
				Name    string
				Actions []actions.Action
			}
		}
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatalf("vms: %v %s", err, stderr)
		}
		m := map[string][]actions.Action{}
		for _, v := range d.VMs {
			m[v.Name] = v.Actions
		}
		return m
	}
	agree := func(when string, acts []actions.Action) map[actions.ID]bool {
		t.Helper()
		got := map[actions.ID]bool{}
		for _, a := range acts {
			if a.Possible == nil {
				t.Fatalf("%s: %s unknown as root: %v", when, a.ID, *a.Why)
			}
			got[a.ID] = *a.Possible
			dry, stderr, code := nv(t, "", a.DryRun...)
			changes := code == ExitOK && strings.Contains(dry, "@@")
			if *a.Possible != changes {
				t.Errorf("%s: %s listed %v (%v); its dry run %v: %d %s%s", when, a.ID, *a.Possible, a.Why, a.DryRun, code, dry, stderr)
			}
		}
		return got
	}
	before := listed()
	if got := agree("before", before[plain]); !got[actions.Expose] || got[actions.Unexpose] {
		t.Errorf("before expose: %v", got)
	}
	for _, a := range before[flagLike] {
		if n := len(a.Command); n < 2 || a.Command[n-2] != "--" || a.Command[n-1] != flagLike {
			t.Errorf("%s: %v", a.ID, a.Command)
		}
	}
	agree("a domain named --persist", before[flagLike])
	var expose actions.Action
	for _, a := range before[plain] {
		if a.ID == actions.Expose {
			expose = a
		}
	}
	if _, stderr, code := nv(t, "", expose.Command...); code != ExitOK {
		t.Fatalf("%v: %d %s", expose.Command, code, stderr)
	}
	if got := agree("after expose", listed()[plain]); got[actions.Expose] || !got[actions.Unexpose] {
		t.Errorf("after expose: %v", got)
	}
}

// TestGuardActionsAreWhatInstallDoes: the guard's install and uninstall are
// listed possible exactly when their dry runs would change the hook
// directory: none installed, installed, installed by someone else.
func TestGuardActionsAreWhatInstallDoes(t *testing.T) {
	bin := rootBinary(t)
	hooks := t.TempDir()
	os.Chmod(hooks, 0o755)
	host := func() map[actions.ID]actions.Action {
		m := map[actions.ID]actions.Action{}
		for _, a := range actions.OfHost(actions.Host{Facts: probe.Facts{}, Unchangeable: "n/a", HooksDir: hooks, Guard: guard.Config{Binary: bin, Mode: guard.Enforce}}) {
			m[a.ID] = a
		}
		return m
	}
	check := func(when string, install, uninstall bool) {
		t.Helper()
		m := host()
		for id, want := range map[actions.ID]bool{actions.GuardInstall: install, actions.GuardUninstall: uninstall} {
			a := m[id]
			if a.Possible == nil || *a.Possible != want {
				t.Errorf("%s: %s listed %v (%v), want %v", when, id, a.Possible, a.Why, want)
			}
			args := append(slices.Clone(a.DryRun), "--hooks-dir", hooks)
			if id == actions.GuardInstall {
				args = append(args, "--binary", bin)
			}
			dry, stderr, code := nv(t, "", args...)
			changes := code == ExitOK && strings.Contains(dry, "@@")
			if changes != want {
				t.Errorf("%s: %s's dry run: %d %s%s", when, id, code, dry, stderr)
			}
		}
	}
	check("none installed", true, false)
	if _, stderr, code := nv(t, "", "guard", "install", "--hooks-dir", hooks, "--binary", bin); code != ExitOK {
		t.Fatal(stderr)
	}
	check("installed", false, true)
	os.WriteFile(filepath.Join(hooks, "qemu.d", guard.HookName), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	check("someone else's hook", false, false)
}

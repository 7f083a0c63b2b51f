// Package libvirttest prepares the domains the integration tests define in the
// real libvirtd (scripts/libvirtd.sh starts it): of the type that daemon can run
// on this machine. Where its capabilities offer KVM for this machine's arch, a
// test domain is type 'kvm'; where they do not (no /dev/kvm), it is type 'qemu',
// QEMU's emulation, which starts and migrates the same way but is judged as a
// non-KVM L0. Tests whose verdicts depend on it ask Type.
package libvirttest

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"runtime"
	"sync"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/nestvirt/nestvirt/internal/arch"
)

// URI is the daemon the integration tests use.
const URI = "qemu:///system"

var (
	once    sync.Once
	typ     string
	typeErr error
)

// Type is the domain type test domains get here: "kvm" or "qemu".
func Type() (string, error) {
	once.Do(func() { typ, typeErr = ask() })
	return typ, typeErr
}

func ask() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "virsh", "-c", URI, "capabilities").Output()
	if err != nil {
		return "", fmt.Errorf("virsh capabilities (the integration tests need a running libvirtd: bash scripts/libvirtd.sh): %w", err)
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(string(out)); err != nil {
		return "", fmt.Errorf("the daemon's capabilities: %w", err)
	}
	return typeOf(caps, arch.Normalize(runtime.GOARCH))
}

// typeOf reads the best domain type the daemon offers for hvm guests of a: KVM
// if it is there, else QEMU's emulation.
func typeOf(caps libvirtxml.Caps, a string) (string, error) {
	found := false
	for _, g := range caps.Guests {
		if g.OSType != "hvm" || g.Arch.Name != a {
			continue
		}
		for _, d := range g.Arch.Domains {
			if d.Type == "kvm" {
				return "kvm", nil
			}
			found = found || d.Type == "qemu"
		}
	}
	if found {
		return "qemu", nil
	}
	return "", fmt.Errorf("the daemon offers no hvm guests of %s", a)
}

var (
	domainType = regexp.MustCompile(`<domain\s+type=(['"])[a-z]+['"]`)
	domainName = regexp.MustCompile(`<name>[^<]*</name>`)
)

// Prepare gives a domain definition the name and the domain type it is defined
// with here.
func Prepare(xml, name string) (string, error) {
	t, err := Type()
	if err != nil {
		return "", err
	}
	return rewrite(xml, name, t)
}

func rewrite(xml, name, t string) (string, error) {
	ty, nm := domainType.FindStringSubmatchIndex(xml), domainName.FindStringIndex(xml)
	if ty == nil || nm == nil || nm[0] < ty[0] {
		return "", fmt.Errorf("not a domain definition with a type and a name: %.100s", xml)
	}
	q := xml[ty[2]:ty[3]]
	return xml[:ty[0]] + "<domain type=" + q + t + q + xml[ty[1]:nm[0]] + "<name>" + name + "</name>" + xml[nm[1]:], nil
}

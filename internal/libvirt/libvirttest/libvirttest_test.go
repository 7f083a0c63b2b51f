package libvirttest

import (
	"testing"

	"libvirt.org/go/libvirtxml"
)

func caps(t *testing.T, guests string) libvirtxml.Caps {
	t.Helper()
	var c libvirtxml.Caps
	if err := c.Unmarshal("<capabilities><host><cpu><arch>x86_64</arch></cpu></host>" + guests + "</capabilities>"); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTheTypeIsKVMOnlyWhereTheDaemonOffersIt(t *testing.T) {
	tests := []struct {
		name, guests, want string
	}{
		{"KVM and emulation", `<guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>`, "kvm"},
		{"emulation only (no /dev/kvm)", `<guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest>`, "qemu"},
		{"KVM for another arch only", `<guest><os_type>hvm</os_type><arch name='aarch64'><domain type='kvm'/></arch></guest><guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest>`, "qemu"},
		{"nothing for this arch", `<guest><os_type>hvm</os_type><arch name='aarch64'><domain type='qemu'/></arch></guest>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := typeOf(caps(t, tt.guests), "x86_64")
			if got != tt.want || (tt.want == "") != (err != nil) {
				t.Errorf("%q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRewriteChangesOnlyTheRootTypeAndTheFirstName(t *testing.T) {
	in := "<domain type=\"kvm\" xmlns:q='x'>\n  <name>win11</name>\n  <metadata><a:x><name>keep</name></a:x></metadata>\n</domain>\n"
	got, err := rewrite(in, "nvtest-1-win11", "qemu")
	want := "<domain type=\"qemu\" xmlns:q='x'>\n  <name>nvtest-1-win11</name>\n  <metadata><a:x><name>keep</name></a:x></metadata>\n</domain>\n"
	if err != nil || got != want {
		t.Errorf("%v\n%s", err, got)
	}
	if _, err := rewrite("<network><name>n</name></network>", "x", "kvm"); err == nil {
		t.Error("a network was taken for a domain")
	}
}

package libvirt

import (
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// The typed parameters of virDomainGetGuestInfo's OS group, as libvirt sends
// them for a Windows Server 2019 guest's qemu-guest-agent.
func TestAgentOSFromTypedParams(t *testing.T) {
	str := func(field, v string) golibvirt.TypedParam {
		return golibvirt.TypedParam{Field: field, Value: golibvirt.TypedParamValue{D: 7, I: v}}
	}
	params := []golibvirt.TypedParam{
		str("os.id", "mswindows"), str("os.name", "Microsoft Windows"), str("os.pretty-name", "Windows Server 2019 Standard"),
		str("os.version", "Microsoft Windows Server 2019"), str("os.version-id", "2019"), str("os.variant", "server"),
		str("os.variant-id", "server"), str("os.kernel-release", "17763"), str("os.kernel-version", "10.0"), str("os.machine", "x86_64"),
		{Field: "some.number", Value: golibvirt.TypedParamValue{D: 2, I: uint32(4)}},
	}
	a, err := agentOS(params)
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.OS()
	if err != nil || o.ID != "win2k19" || a.Describe() != "Windows Server 2019 Standard, build 17763" {
		t.Errorf("%+v %v %q", o, err, a.Describe())
	}
	if _, err := agentOS(params[len(params)-1:]); err == nil {
		t.Error("a reply without os.id read as an OS")
	}
}

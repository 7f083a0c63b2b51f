package osid

import "testing"

func TestFromWindowsBuild(t *testing.T) {
	for _, c := range []struct {
		build  int
		server bool
		want   string
	}{
		{17763, true, "win2k19"},
		{20348, true, "win2k22"},
		{26100, true, "win2k25"},
		{14393, true, "win2k16"},
		{18363, true, "win2k19"}, // semi-annual Server 1909
		{9600, true, "win2k12r2"},
		{19045, false, "win10"},
		{18362, false, "win10"},
		{22000, false, "win11"},
		{26100, false, "win11"},
		{7601, false, "win7"},
	} {
		o, err := FromWindowsBuild(c.build, c.server)
		if err != nil || o.ID != c.want {
			t.Errorf("FromWindowsBuild(%d, %v) = %v, %v; want %s", c.build, c.server, o.ID, err, c.want)
		}
	}
	if _, err := FromWindowsBuild(3790, false); err == nil {
		t.Error("build 3790 (XP x64) named a release")
	}
}

// Replies recorded from qemu-guest-agent's guest-get-osinfo as libvirt passes
// them on (virsh guestinfo --os).
func TestAgentOS(t *testing.T) {
	for _, c := range []struct {
		name   string
		params map[string]string
		want   string
		err    bool
	}{
		{"Windows Server 2019", map[string]string{"os.id": "mswindows", "os.name": "Microsoft Windows", "os.pretty-name": "Windows Server 2019 Standard", "os.version": "Microsoft Windows Server 2019", "os.version-id": "2019", "os.variant": "server", "os.variant-id": "server", "os.kernel-release": "17763", "os.kernel-version": "10.0", "os.machine": "x86_64"}, "win2k19", false},
		// qemu-ga copies ProductName, which still says Windows 10 on Windows 11.
		{"Windows 11 reported as 10", map[string]string{"os.id": "mswindows", "os.pretty-name": "Windows 10 Pro", "os.version-id": "10", "os.variant": "client", "os.variant-id": "client", "os.kernel-release": "22631"}, "win11", false},
		{"RHEL 9.4", map[string]string{"os.id": "rhel", "os.name": "Red Hat Enterprise Linux", "os.pretty-name": "Red Hat Enterprise Linux 9.4 (Plow)", "os.version-id": "9.4", "os.kernel-release": "5.14.0-427.el9.x86_64"}, "rhel9.4", false},
		{"Windows without a build", map[string]string{"os.id": "mswindows", "os.pretty-name": "Windows"}, "", true},
	} {
		a, ok := AgentOSFromParams(c.params)
		if !ok {
			t.Fatalf("%s: no OS id", c.name)
		}
		o, err := a.OS()
		if (err != nil) != c.err || o.ID != c.want {
			t.Errorf("%s: %v, %v; want %q (error %v)", c.name, o.ID, err, c.want, c.err)
		}
	}
	if _, ok := AgentOSFromParams(map[string]string{"os.kernel-release": "1"}); ok {
		t.Error("params without os.id read as an OS")
	}
}

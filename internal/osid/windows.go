package osid

import (
	"fmt"
	"strconv"
	"strings"
)

// Windows releases by build: the build number is what a running Windows says
// about itself for certain (ProductName still reads "Windows 10" on Windows 11).
// Builds from Microsoft's release information pages; a build between two
// releases belongs to the earlier one (an Insider or semi-annual build).
var (
	serverBuilds = []struct {
		build int
		year  int
		r2    bool
	}{
		{26100, 2025, false}, {20348, 2022, false}, {17763, 2019, false}, {14393, 2016, false},
		{9600, 2012, true}, {9200, 2012, false}, {7600, 2008, true},
	}
	clientBuilds = []struct {
		build   int
		version string
	}{
		{22000, "11"}, {10240, "10"}, {9600, "8.1"}, {9200, "8"}, {7600, "7"},
	}
)

// FromWindowsBuild names the Windows release of a build: server says whether it
// is Windows Server (the registry's InstallationType, the guest agent's variant).
func FromWindowsBuild(build int, server bool) (OS, error) {
	if server {
		for _, b := range serverBuilds {
			if build >= b.build {
				return windowsServer(b.year, b.r2)
			}
		}
	} else {
		for _, b := range clientBuilds {
			if build >= b.build {
				return windowsDesktop(b.version)
			}
		}
	}
	return OS{}, fmt.Errorf("Windows build %d is older than any release nestvirt knows", build)
}

// AgentOS is what the QEMU guest agent's guest-get-osinfo reports, as libvirt's
// virDomainGetGuestInfo passes it on ("os.id", "os.version-id", ...).
type AgentOS struct {
	ID            string `json:"id"`             // rhel, mswindows, ...
	Name          string `json:"name"`           // "Red Hat Enterprise Linux", "Microsoft Windows"
	PrettyName    string `json:"pretty_name"`    // "Windows Server 2019 Standard"
	Version       string `json:"version"`        // "Microsoft Windows Server 2019"
	VersionID     string `json:"version_id"`     // "9.4", "2019", "10"
	Variant       string `json:"variant"`        // Windows: server or client
	KernelRelease string `json:"kernel_release"` // Windows: the build ("17763")
	KernelVersion string `json:"kernel_version"` // Windows: "10.0"
	Machine       string `json:"machine"`
}

// AgentOSFromParams reads libvirt's typed parameters of the OS group. It reports
// false when they carry no OS id (an agent too old to say).
func AgentOSFromParams(p map[string]string) (AgentOS, bool) {
	a := AgentOS{
		ID: p["os.id"], Name: p["os.name"], PrettyName: p["os.pretty-name"], Version: p["os.version"],
		VersionID: p["os.version-id"], Variant: p["os.variant-id"], KernelRelease: p["os.kernel-release"],
		KernelVersion: p["os.kernel-version"], Machine: p["os.machine"],
	}
	if a.Variant == "" {
		a.Variant = p["os.variant"]
	}
	return a, a.ID != ""
}

// OS is the release the agent reports. On Windows the build (kernel-release)
// decides, since the agent copies ProductName, which says "Windows 10" on 11.
func (a AgentOS) OS() (OS, error) {
	if strings.EqualFold(a.ID, "mswindows") {
		build, err := strconv.Atoi(strings.TrimSpace(a.KernelRelease))
		if err != nil {
			return OS{}, fmt.Errorf("the guest agent reports Windows without a build number (kernel-release %q)", a.KernelRelease)
		}
		server := strings.EqualFold(a.Variant, "server") || strings.Contains(a.PrettyName, "Server")
		return FromWindowsBuild(build, server)
	}
	if o, ok := FromOSRelease(a.ID, a.VersionID); ok {
		return o, nil
	}
	return OS{}, fmt.Errorf("the guest agent reports %q %q, which nestvirt does not know", a.ID, a.VersionID)
}

// Describe is the agent's report in a person's words: "Windows Server 2019
// Standard, build 17763".
func (a AgentOS) Describe() string {
	name := a.PrettyName
	if name == "" {
		name = strings.TrimSpace(a.Name + " " + a.VersionID)
	}
	if strings.EqualFold(a.ID, "mswindows") && a.KernelRelease != "" {
		name += ", build " + a.KernelRelease
	}
	return name
}

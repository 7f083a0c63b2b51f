package identity

import (
	"fmt"
	"strings"

	"github.com/nestvirt/nestvirt/internal/probe"
)

// containerName takes what a container manager's file says as the container's
// name only when it is one: a plain token such as systemd's ids (docker,
// podman, lxc, systemd-nspawn, oci, ...). Anything else (a script, several lines,
// a kilobyte of text) is a container all the same, whose manager cannot be
// named: container-other, with a note; its text goes nowhere else.
func (d *decision) containerName(from, v string) string {
	if identifier(v) {
		d.evidence("%s: %s", strings.TrimSuffix(from, "="), v)
		return v
	}
	d.note(fmt.Sprintf("%s holds no container manager's name (%d bytes, not a plain token): recorded as container-other", strings.TrimSuffix(from, "="), len(v)))
	return "container-other"
}

// identifier reports whether s is a plain lowercase token, as the names
// container managers and systemd give: letters, digits, '.', '_' and '-', at
// most 32 bytes, one line.
func identifier(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range []byte(s) {
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// container names the container this process runs in, as systemd-detect-virt
// does; "" when it cannot be told.
func (d *decision) container() string {
	e := d.e
	// An illumos LX zone says container=zone; its kernel string is more specific.
	if v := e.ProcVersion; v.State == probe.Present && strings.Contains(v.Text(), "BrandZ") {
		d.evidence("proc/version: BrandZ (illumos LX zone)")
		return "illumos-lx"
	}
	if rel := e.OSRelease; rel.State == probe.Present && (strings.Contains(rel.Text(), "Microsoft") || strings.Contains(rel.Text(), "WSL")) {
		d.evidence("kernel release %q (WSL)", rel.Text())
		return "wsl"
	}
	for i, st := range e.WSLInterop {
		if st == probe.Present {
			d.evidence("%s exists", wslInterop[i])
			return "wsl"
		}
	}
	if v := e.ContainerManager; v.State == probe.Present && v.Text() != "" {
		return d.containerName("run/host/container-manager", v.Text())
	}
	known := false // whether any source that would name a container could be read
	d.noteUnread("proc/1/environ", e.Environ, "")
	if e.Environ.State == probe.Present {
		known = true
		for _, kv := range strings.Split(string(e.Environ.Data), "\x00") {
			if v, found := strings.CutPrefix(kv, "container="); found && v != "" {
				return d.containerName("proc/1/environ: container=", v)
			}
		}
	}
	if e.ContainerEnv == probe.Present {
		d.evidence("run/.containerenv exists")
		return "podman"
	}
	if v := e.SystemdContainer; v.State == probe.Present && v.Text() != "" {
		return d.containerName("run/systemd/container", v.Text())
	}
	for i, cg := range e.Cgroups {
		if cg.State != probe.Present {
			continue
		}
		known = true
		data := cg.Text()
		for _, m := range []struct{ sub, name string }{{"/docker/", "docker"}, {"/docker-", "docker"}, {"/lxc/", "lxc"}, {"/lxc.payload", "lxc"}, {"libpod", "podman"}, {"crio-", "crio"}, {"/kubepods", "container-other"}} {
			if strings.Contains(data, m.sub) {
				d.evidence("%s mentions %q", cgroups[i], strings.Trim(m.sub, "/-"))
				return m.name
			}
		}
	}
	// OpenVZ: /proc/vz exists in containers and on the host; only the host has /proc/bc.
	if e.ProcVZ == probe.Present && e.ProcBC == probe.Absent {
		d.evidence("proc/vz exists without proc/bc (an OpenVZ container)")
		return "openvz"
	}
	if e.DockerEnv == probe.Unknown || e.DockerInit == probe.Unknown {
		// A report that did not collect the markers (a sosreport): nothing
		// found is not "none".
		return ""
	}
	if e.DockerEnv == probe.Present || e.DockerInit == probe.Present {
		if init := d.kernelInit(); init != "" {
			d.evidence("/.dockerenv exists, but PID 1 (%s) is the kernel's own init (%s on the kernel command line): a VM whose root file system was built from a container image, not a container", init, init)
			return "none"
		}
		d.evidence("/.dockerenv exists")
		return "docker"
	}
	// The markers are files at the root; their absence is what systemd-detect-virt
	// reads as "none" too. A tree with no proc at all says nothing either way.
	if !known && e.Proc != probe.Present {
		return ""
	}
	return "none"
}

// wsl says whether this is WSL: Microsoft's WSL kernels name themselves in
// their release ("-microsoft-standard-WSL2", "-Microsoft"), and WSL registers its
// interop binfmt. A known release without the name rules WSL out.
func (d *decision) wsl(container *string) *bool {
	if container != nil {
		return probe.Ptr(*container == "wsl")
	}
	binfmt := probe.Absent
	for _, st := range d.e.WSLInterop {
		if st != probe.Absent {
			binfmt = st
		}
	}
	if binfmt == probe.Present {
		return probe.Ptr(true)
	}
	if d.e.OSRelease.State == probe.Present || binfmt == probe.Absent {
		return probe.Ptr(false) // container() would have named WSL from either
	}
	return nil
}

// kernelInit returns PID 1's program when the kernel command line names it as
// init= or rdinit=: then PID 1 was started by this kernel, outside any container.
func (d *decision) kernelInit() string {
	e := d.e
	if e.Cmdline.State != probe.Present {
		return ""
	}
	d.noteUnread("proc/1/cmdline", e.InitCmdline, "")
	argv := e.InitCmdline.Data
	if e.InitCmdline.State != probe.Present || len(argv) == 0 {
		return ""
	}
	prog := string(argv)
	if i := strings.IndexByte(prog, 0); i >= 0 {
		prog = prog[:i]
	}
	for _, w := range strings.Fields(e.Cmdline.Text()) {
		if w == "--" {
			break
		}
		k, v, found := strings.Cut(w, "=")
		if found && (k == "init" || k == "rdinit") && v == prog {
			return prog
		}
	}
	return ""
}

package main

import "github.com/nestvirt/nestvirt/internal/probe/stated"

// page is what a command's man page says beyond its help: the files it reads
// or writes, the environment it heeds, and the pages of related ideas.
type page struct {
	files   [][2]string // path, what it is to this command
	env     [][2]string // variable, effect
	seeAlso []string    // "name(section)"
}

var (
	hostYAML   = [2]string{"/etc/nestvirt/host.yaml", "What cannot be read on this host, stated by the admin: " + stated.HostConfigKeys + " (see nestvirt check --help). Flags (--migrates, --l0-os) override it."}
	osinfo     = [2]string{"/usr/share/osinfo, /etc/osinfo", "libosinfo's database, read only for an OS name nestvirt does not know itself (OSINFO_SYSTEM_DIR and OSINFO_LOCAL_DIR move them)."}
	modprobeD  = [2]string{"/etc/modprobe.d/*.conf, /run/modprobe.d, /usr/lib/modprobe.d", "Where the KVM module's nested option is set for its next load."}
	kvmParams  = [2]string{"/sys/module/kvm_intel/parameters/nested, /sys/module/kvm_amd/parameters/nested, /sys/module/kvm/parameters/nested", "Whether nesting is on in the loaded KVM module now (IBM Z: kvm)."}
	libvirtRO  = [2]string{"/run/libvirt/libvirt-sock-ro, /run/libvirt/virtqemud-sock-ro", "libvirt's read-only sockets, used where nestvirt only reads."}
	libvirtRW  = [2]string{"/run/libvirt/libvirt-sock, /run/libvirt/virtqemud-sock", "libvirt's read-write sockets, used to define a domain or ask a guest agent."}
	osinfoEnv  = [][2]string{{"OSINFO_SYSTEM_DIR, OSINFO_LOCAL_DIR", "libosinfo's database directories (as libosinfo reads them)."}}
	displayEnv = [][2]string{{"NO_COLOR", "Set to anything: no colour on a terminal (--color=always still colours)."}, {"TERM", "dumb: no colour."}, {"COLUMNS", "The width text output wraps to (40 to 1000; the terminal's width otherwise)."}}
	formats    = []string{"nestvirt-topology(5)", "nestvirt-policy(5)"}
)

// pages, by command path.
// sosDropIn is the packages' sos_extras drop-in (deploy/sos/nestvirt).
var sosDropIn = [2]string{"/etc/sos/extras.d/nestvirt", "Installed by the package (a configuration file): sos report runs nestvirt version, check, vms and guard status and keeps their output in sos_commands/sos_extras/nestvirt/, which check --sos and vms --sos show beside their own judgement of the report."}

var pages = map[string]page{
	"nestvirt": {files: [][2]string{hostYAML, osinfo, sosDropIn}, env: append(displayEnv, osinfoEnv...),
		seeAlso: append(formats, "virsh(1)", "modprobe.d(5)", "systemd-detect-virt(1)")},
	"nestvirt check": {files: [][2]string{hostYAML, sosDropIn, {"/proc/cpuinfo, /proc/cmdline, /etc/os-release", "The CPU and its virtualization extension, the kernel's KVM options, the OS."}, kvmParams, {"/dev/kvm", "Whether KVM is available."}, modprobeD, osinfo},
		env:     append(displayEnv, osinfoEnv...),
		seeAlso: []string{"nestvirt-snapshot(1)", "nestvirt-vms(1)", "nestvirt-enable(1)", "nestvirt-policy(5)", "systemd-detect-virt(1)", "virt-what(1)"}},
	"nestvirt plan": {files: [][2]string{osinfo}, env: append(displayEnv, osinfoEnv...), seeAlso: append(formats, "nestvirt-matrix(1)")},
	"nestvirt vms": {files: [][2]string{hostYAML, libvirtRO, libvirtRW}, env: displayEnv,
		seeAlso: []string{"nestvirt-annotate(1)", "nestvirt-expose(1)", "nestvirt-check(1)", "nestvirt-policy(5)", "virsh(1)"}},
	"nestvirt annotate": {files: [][2]string{libvirtRW}, seeAlso: []string{"nestvirt-vms(1)", "nestvirt-topology(5)", "virsh(1)"}},
	"nestvirt expose":   {files: [][2]string{libvirtRW}, seeAlso: []string{"nestvirt-unexpose(1)", "nestvirt-vms(1)", "virsh(1)"}},
	"nestvirt unexpose": {files: [][2]string{libvirtRW}, seeAlso: []string{"nestvirt-expose(1)", "virsh(1)"}},
	"nestvirt enable": {files: [][2]string{modprobeD, {"/etc/modprobe.d/kvm.conf", "Written when no file sets the option yet, as Red Hat's procedure does."}, {"*.nestvirt-orig, *.nestvirt-bak", "Beside a changed file: the file before nestvirt first changed it, and before its latest change."}, kvmParams, libvirtRO},
		seeAlso: []string{"nestvirt-disable(1)", "nestvirt-check(1)", "modprobe(8)", "modprobe.d(5)"}},
	"nestvirt disable": {files: [][2]string{modprobeD, {"*.nestvirt-orig, *.nestvirt-bak", "Beside a changed file: the file before nestvirt first changed it, and before its latest change."}, kvmParams, libvirtRO},
		seeAlso: []string{"nestvirt-enable(1)", "nestvirt-check(1)", "modprobe(8)", "modprobe.d(5)"}},
	"nestvirt guard install": {files: [][2]string{{"/etc/libvirt/hooks/qemu.d/nestvirt-guard", "The hook libvirt runs before it starts, migrates or restores a domain (--hooks-dir moves it)."}, hostYAML},
		seeAlso: []string{"nestvirt-guard-status(1)", "nestvirt-guard-uninstall(1)", "nestvirt-policy(5)", "libvirtd(8)"}},
	"nestvirt guard uninstall": {files: [][2]string{{"/etc/libvirt/hooks/qemu.d/nestvirt-guard", "Removed only when nestvirt wrote it."}}, seeAlso: []string{"nestvirt-guard-install(1)"}},
	"nestvirt guard status":    {files: [][2]string{{"/etc/libvirt/hooks/qemu.d/nestvirt-guard", "The installed hook, read to say how it is set."}}, seeAlso: []string{"nestvirt-guard-install(1)"}},
	"nestvirt facts install":   {files: [][2]string{{"/etc/ansible/facts.d/nestvirt.fact", "The local fact (--fact-path moves it); Ansible runs it when it gathers facts."}}, seeAlso: []string{"nestvirt-facts-uninstall(1)", "ansible-playbook(1)"}},
	"nestvirt facts uninstall": {files: [][2]string{{"/etc/ansible/facts.d/nestvirt.fact", "Removed only when nestvirt wrote it."}}, seeAlso: []string{"nestvirt-facts-install(1)"}},
	"nestvirt snapshot":        {seeAlso: []string{"nestvirt-check(1)"}},
	"nestvirt matrix":          {seeAlso: []string{"nestvirt-policy(5)", "nestvirt-plan(1)"}},
	"nestvirt policy":          {seeAlso: []string{"nestvirt-policy(5)"}},
	"nestvirt policy lint":     {seeAlso: []string{"nestvirt-policy(5)"}},
	"nestvirt policy show":     {seeAlso: []string{"nestvirt-policy(5)"}},
	"nestvirt os list":         {files: [][2]string{osinfo}, env: osinfoEnv, seeAlso: []string{"nestvirt-topology(5)"}},
}

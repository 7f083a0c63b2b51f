package linux

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/modprobe"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// KVM modules nestvirt knows, besides IBM Z's kvm. kvm_pvm is PVM: KVM through
// paravirtualisation, with no VMX or SVM, as in some cloud sandboxes.
var kvmModules = []string{"kvm_intel", "kvm_amd", "kvm_pvm"}

func (p *prober) kvm() {
	k := &p.f.KVM
	dev, _ := p.root.Exists("dev/kvm")
	misc, _ := p.root.Exists("sys/devices/virtual/misc/kvm")
	k.Device = known(dev)
	switch {
	case dev == probe.Present || misc == probe.Present:
		k.Available = probe.Ptr(true)
	case dev == probe.Absent && misc == probe.Absent:
		k.Available = probe.Ptr(false)
	default:
		// A report (sosreport) has neither, but /proc/misc lists the misc devices
		// registered, kvm among them when a KVM module is loaded.
		if data, st := p.readString("proc/misc"); st == probe.Present {
			has := false
			for _, l := range strings.Split(data, "\n") {
				if f := strings.Fields(l); len(f) == 2 && f[1] == "kvm" {
					has = true
				}
			}
			k.Available = probe.Ptr(has)
			break
		}
		p.note("neither dev/kvm nor sys/devices/virtual/misc/kvm could be examined; whether KVM is available is unknown")
	}
	if p.root.Live() && dev == probe.Present {
		ok, err := p.root.OpenDevice("dev/kvm")
		k.Accessible = probe.Ptr(ok)
		if !ok {
			p.note("/dev/kvm: " + probe.ShortErr(err) + " (this user cannot start VMs; root or the kvm group can)")
		}
	}

	a, vendor := probe.Deref(p.f.Arch), probe.Deref(p.f.CPUVendor)
	module, unknownModule := "", false
	for _, m := range kvmModules {
		switch st, _ := p.root.Exists("sys/module/" + m); st {
		case probe.Present:
			module = m
		case probe.Unknown:
			unknownModule = true
		}
		if module != "" {
			break
		}
	}
	if module == "" && arch.IsIBMZ(a) {
		if st, _ := p.root.Exists("sys/module/kvm/parameters/nested"); st == probe.Present {
			module = "kvm"
		} else if st == probe.Unknown {
			unknownModule = true
		}
	}
	switch {
	case module != "":
		k.Module = probe.Ptr(module)
	case unknownModule:
		p.note("sys/module could not be examined; which KVM module is loaded is unknown")
	default:
		k.Module = probe.Ptr("none")
	}

	// The module whose nested parameter matters here, loaded or not. A CPU that
	// shows no vmx/svm (PVM, a guest that hides it) cannot load kvm_intel or kvm_amd.
	info := arch.Of(a, vendor)
	target := ""
	switch {
	case module != "" && module != "kvm_pvm":
		target = module
	case info.Module != "" && (p.f.VirtExt == nil || *p.f.VirtExt == info.Flag):
		target = info.Module
	}
	if target == "" {
		return
	}
	k.ConfigModule = probe.Ptr(target)
	if module == target {
		k.Nested = p.boolParam(module, "nested")
		if module == "kvm" {
			k.Hpage = p.boolParam(module, "hpage")
		}
	}
	p.modprobeConfig(target)
}

func known(s probe.State) *bool {
	switch s {
	case probe.Present:
		return probe.Ptr(true)
	case probe.Absent:
		return probe.Ptr(false)
	}
	return nil
}

// boolParam reads /sys/module/M/parameters/P: a first character of Y, y or 1 is on.
func (p *prober) boolParam(module, param string) *bool {
	rel := "sys/module/" + module + "/parameters/" + param
	v, st := p.readString(rel)
	if st != probe.Present {
		p.note(fmt.Sprintf("%s could not be read; %s's live %s value is unknown", rel, module, param))
		return nil
	}
	b, ok := modprobe.Bool(v)
	if !ok {
		p.note(fmt.Sprintf("%s reads %.20q, neither on (Y, y, 1) nor off (N, n, 0); treated as unknown", rel, v))
		return nil
	}
	return &b
}

// modprobeConfig reads what the next load of module will get from modprobe.d and
// the kernel command line, or from the module's default.
func (p *prober) modprobeConfig(module string) {
	var files []modprobe.File
	var unknownDirs []string
	for _, d := range modprobe.Dirs {
		paths, st := p.root.Glob(d + "/*.conf")
		if st == probe.Unknown {
			unknownDirs = append(unknownDirs, d)
			continue
		}
		for _, path := range paths {
			data, st := p.read(path, "")
			if st == probe.Present {
				files = append(files, modprobe.File{Path: path, Data: data})
			} else if st == probe.Unknown {
				unknownDirs = append(unknownDirs, path)
			}
		}
	}
	cmdline, cst := p.readString("proc/cmdline")
	if cst == probe.Unknown {
		unknownDirs = append(unknownDirs, "proc/cmdline")
	}
	cfg := modprobe.Parse(modprobe.Order(files), cmdline)
	for _, pr := range cfg.Problems {
		p.note(pr.String())
	}
	k := &p.f.KVM
	for _, param := range []string{"nested", "hpage"} {
		if param == "hpage" && module != "kvm" {
			continue
		}
		last, all := cfg.Effective(module, param)
		for _, s := range all {
			k.Config = append(k.Config, s.String())
		}
		var val *bool
		from := ""
		switch {
		case last != nil && last.File == "":
			// The kernel command line comes last: what it sets wins, whatever is unread.
			val, from = p.settingValue(last), "kernel command line"
		case len(unknownDirs) > 0:
			p.note(fmt.Sprintf("%s could not be read; what the next load of %s sets for %s is unknown", strings.Join(unknownDirs, ", "), module, param))
		case last != nil:
			val, from = p.settingValue(last), "modprobe.d"
		default:
			val, from = p.moduleDefault(module, param), "module default"
		}
		var fromP *string
		if val != nil {
			fromP = &from
		}
		if param == "nested" {
			k.NestedNext, k.NestedNextFrom = val, fromP
		} else {
			k.HpageNext, k.HpageNextFrom = val, fromP
		}
	}
}

func (p *prober) settingValue(s *modprobe.Setting) *bool {
	b, ok := modprobe.Bool(s.Value)
	if !ok {
		p.note(fmt.Sprintf("%s: value %q is neither on nor off", s, s.Value))
		return nil
	}
	return &b
}

// moduleDefault is a parameter's value when nothing sets it: nested is on in
// kvm_amd, on in kvm_intel since Linux 4.20 (commit 1e58e5e59b9f, "KVM: VMX:
// enable nested virtualization by default"), off in IBM Z's kvm; hpage is off.
func (p *prober) moduleDefault(module, param string) *bool {
	switch {
	case param == "hpage" || module == "kvm":
		return probe.Ptr(false)
	case module == "kvm_amd":
		return probe.Ptr(true)
	case module == "kvm_intel":
		rel, st := p.readString("proc/sys/kernel/osrelease")
		if st != probe.Present {
			p.note("the kernel release is unknown, so kvm_intel's default for nested (on since Linux 4.20) is unknown")
			return nil
		}
		if atLeast(rel, 4, 20) {
			return probe.Ptr(true)
		}
		p.note(fmt.Sprintf("kernel %s predates Linux 4.20, where kvm_intel turned nested on by default; a distribution may have changed the default, so it is unknown", rel))
		return nil
	}
	return nil
}

// atLeast compares a kernel release's major.minor.
func atLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

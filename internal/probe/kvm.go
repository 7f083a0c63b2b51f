package probe

import (
	"fmt"
	"os"

	"github.com/nestvirt/nestvirt/internal/modprobe"
)

// KVM modules nestvirt knows. kvm_pvm is PVM: KVM through paravirtualization, with
// no VMX or SVM, as in some cloud sandboxes.
var kvmModules = []string{"kvm_intel", "kvm_amd", "kvm_pvm"}

func (p *prober) kvm() {
	k := &p.f.KVM
	k.Config = []string{}
	k.Device = p.root.Exists("dev/kvm")
	misc := p.root.Exists("sys/devices/virtual/misc/kvm/dev")
	k.Available = k.Device || misc
	if p.root.Live() && k.Device {
		f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
		k.Accessible = ptr(err == nil)
		if err == nil {
			f.Close()
		} else {
			p.note("/dev/kvm: " + shortErr(err) + " (this user cannot start VMs; root or the kvm group can)")
		}
	}

	var module string
	for _, m := range kvmModules {
		if p.root.Exists("sys/module/" + m) {
			module = m
			break
		}
	}
	if module == "" && IsIBMZ(p.f.Arch) && p.root.Exists("sys/module/kvm/parameters/nested") {
		module = "kvm"
	}
	if module != "" {
		k.Module = ptr(module)
	}
	// The module whose nested parameter matters, loaded or not.
	target := module
	if target == "" || target == "kvm_pvm" {
		switch {
		case IsIBMZ(p.f.Arch):
			target = "kvm"
		case p.f.CPUVendor == "intel":
			target = "kvm_intel"
		case p.f.CPUVendor == "amd":
			target = "kvm_amd"
		}
	}
	if module != "" && module != "kvm_pvm" {
		k.Nested = p.boolParam(module, "nested")
		if module == "kvm" {
			k.Hpage = p.boolParam(module, "hpage")
		}
	}
	if target != "" {
		k.ConfigModule = target
		p.modprobeConfig(target)
	}
}

// boolParam reads /sys/module/M/parameters/P: a first character of Y, y or 1 is on.
func (p *prober) boolParam(module, param string) *bool {
	rel := "sys/module/" + module + "/parameters/" + param
	v, ok := p.readString(rel)
	if !ok {
		return nil
	}
	b, known := modprobe.Bool(v)
	if !known {
		p.note(fmt.Sprintf("%s reads %.20q, neither on (Y, y, 1) nor off (N, n, 0); treated as unknown", rel, v))
		return nil
	}
	return &b
}

// modprobeConfig reads what the next load of module will get from modprobe.d and
// the kernel command line.
func (p *prober) modprobeConfig(module string) {
	var files []modprobe.File
	for _, d := range modprobe.Dirs {
		for _, path := range p.root.Glob(d + "/*.conf") {
			st, err := p.root.Stat(path)
			if err != nil || !st.Mode().IsRegular() {
				if err == nil {
					p.note(path + ": not a regular file; modprobe would not read it as configuration")
				}
				continue
			}
			data, ok := p.read(path)
			if !ok {
				continue
			}
			files = append(files, modprobe.File{Path: path, Data: data})
		}
	}
	cmdline, _ := p.readString("proc/cmdline")
	cfg := modprobe.Parse(modprobe.Order(files), cmdline)
	for _, pr := range cfg.Problems {
		p.note(pr.String())
	}
	k := &p.f.KVM
	for _, param := range []string{"nested", "hpage"} {
		last, all := cfg.Effective(module, param)
		for _, s := range all {
			k.Config = append(k.Config, s.String())
		}
		if last == nil {
			continue
		}
		b, known := modprobe.Bool(last.Value)
		if !known {
			p.note(fmt.Sprintf("%s: value %q is neither on nor off", last, last.Value))
			continue
		}
		if param == "nested" {
			k.NestedNext = &b
		} else {
			k.HpageNext = &b
		}
	}
}

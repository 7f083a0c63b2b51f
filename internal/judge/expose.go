package judge

import (
	"fmt"

	"github.com/nestvirt/nestvirt/internal/arch"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Exposable says whether a host can give a guest virtualization to use: a
// refusal (why not, and what would change it: a command that acts, never
// check, which only reports), or warnings to go on with.
func Exposable(f probe.Facts) (warnings []string, refusal error) {
	a := probe.Str(f.Arch)
	info := arch.Of(a, probe.Str(f.CPUVendor))
	k := f.KVM
	switch {
	case f.Arch != nil && !info.Nestable:
		return nil, fmt.Errorf("nested virtualization does not work on %s (only Intel, AMD and IBM Z): exposing would not let the guest run VMs", a)
	case arch.IsX86(a) && f.CPUVendor == nil:
		return nil, fmt.Errorf("this host's CPU vendor is unknown (a remote daemon that does not name it?), so whether the guest needs vmx or svm is unknown; nothing exposed")
	case probe.Str(k.Module) == "kvm_pvm":
		return nil, fmt.Errorf("this host's KVM is PVM (kvm_pvm), which cannot pass virtualization on to its guests; nothing to expose")
	case k.Nested != nil && !*k.Nested:
		return nil, fmt.Errorf("nesting is off in %s on this host, so an exposed guest could not use it. Run 'nestvirt enable' first (it edits modprobe.d in place, with a backup, and reloads %s when no VM runs), then expose", probe.Str(k.Module), probe.Str(k.Module))
	case probe.Str(f.VirtExt) == "none" && f.Virtualization.LevelMin != nil && *f.Virtualization.LevelMin >= 1:
		return nil, fmt.Errorf("this host is a guest whose own CPU shows no %s: expose it on the L0 below first (nestvirt expose there)", info.Flag)
	}
	if k.Nested == nil {
		warnings = append(warnings, "this host's live nested value is unknown (see nestvirt check); exposing anyway")
	}
	if lm := f.Virtualization.LevelMin; lm != nil && *lm >= 1 {
		warnings = append(warnings, fmt.Sprintf("this host is itself a guest: VMs started inside this domain would be L%d guests at least, which are not expected to work", *lm+2))
	}
	return warnings, nil
}

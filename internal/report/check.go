package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/nestvirt/nestvirt/internal/check"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// CheckJSON writes a check result.
func CheckJSON(w io.Writer, r check.Result) error { return JSON(w, r) }

// CheckText writes a check result for a person: the facts grouped, the findings by
// level, then the remedies. quiet keeps only findings that need action.
func CheckText(w io.Writer, r check.Result, s Style, quiet bool) error {
	if quiet {
		for _, f := range r.Findings {
			if f.Informational || f.Level == policy.Supported {
				continue
			}
			fmt.Fprintf(w, "%s %s: %s\n", s.Level(f.Level), f.Rule, f.Message)
			if f.Remedy != "" {
				s.wrap(w, "  ", s.paint(bold, "remedy: "), f.Remedy)
			}
		}
		return nil
	}
	h := r.Host
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s %s\n", k, v) }
	fmt.Fprintf(w, "%s: %s\n\n", s.paint(bold, "This machine"), s.Level(r.Verdict))

	fmt.Fprintln(w, s.paint(bold, "CPU"))
	row("arch", orUnknown(h.Arch))
	row("vendor", orUnknown(h.CPUVendor)+modelSuffix(h.CPUModel))
	ext := "none (no vmx, svm or sie in /proc/cpuinfo)"
	if h.VirtExt != "" {
		ext = h.VirtExt
		if h.SecondLevel != nil {
			ext += fmt.Sprintf(", second-level paging (EPT/NPT): %s", yesNo(*h.SecondLevel))
		}
	}
	row("extension", ext)
	hv := "CPUID hypervisor bit not set"
	if h.HypervisorBit {
		hv = "CPUID hypervisor bit set"
	}
	row("guest bit", hv)

	fmt.Fprintln(w, s.paint(bold, "KVM"))
	k := h.KVM
	dev := yesNo(k.Available)
	if k.Accessible != nil {
		dev += ", usable by this user: " + yesNo(*k.Accessible)
	}
	row("available", dev)
	row("module", strPtr(k.Module, "none loaded"))
	nested := boolPtr(k.Nested, "unknown")
	if k.Module != nil && *k.Module == "kvm_pvm" {
		nested = "not applicable (kvm_pvm has no nested parameter)"
	}
	if k.ConfigModule != "" && (k.Module == nil || *k.Module != k.ConfigModule) {
		nested += "; " + k.ConfigModule + " at its next load" + strings.TrimPrefix(nextLoad(k.NestedNext), "; next load")
	} else {
		nested += nextLoad(k.NestedNext)
	}
	row("nested", nested)
	if k.Hpage != nil || k.HpageNext != nil {
		row("hpage", boolPtr(k.Hpage, "unknown")+nextLoad(k.HpageNext))
	}
	for _, c := range k.Config {
		row("", "set by "+c)
	}

	fmt.Fprintln(w, s.paint(bold, "OS"))
	os := strings.TrimSpace(h.OS.ID + " " + h.OS.Version)
	if h.OS.Name != "" {
		os = h.OS.Name + " (" + os + ")"
	}
	row("release", orUnknown(os))

	fmt.Fprintln(w, s.paint(bold, "Position"))
	v := h.Virtualization
	row("vm", v.VM)
	row("container", v.Container)
	row("cloud", strPtr(v.Cloud, "none named"))
	level := "unknown"
	if v.Level != nil {
		level = fmt.Sprintf("%d (%s)", *v.Level, levelName(*v.Level))
	}
	row("level", level)
	for _, e := range v.Evidence {
		s.wrap(w, "             ", s.paint(dim, "· "), e)
	}
	if len(h.Notes) > 0 {
		fmt.Fprintln(w, s.paint(bold, "Notes"))
		for _, n := range h.Notes {
			s.wrap(w, "  ", "· ", n)
		}
	}

	fmt.Fprintf(w, "\n%s\n", s.paint(bold, "Findings"))
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  none: nothing in the policy applies to this machine")
	}
	s.findings(w, r.Findings, "  ")
	var remedies []policy.Finding
	for _, f := range r.Findings {
		if f.Remedy != "" {
			remedies = append(remedies, f)
		}
	}
	if len(remedies) > 0 {
		fmt.Fprintf(w, "\n%s\n", s.paint(bold, "Remedies"))
		for i, f := range remedies {
			s.wrap(w, "  ", fmt.Sprintf("%d. [%s] ", i+1, f.Rule), f.Remedy)
		}
	}
	return nil
}

func levelName(l int) string {
	switch l {
	case 0:
		return "bare metal: an L0"
	case 1:
		return "a guest: an L1"
	}
	return fmt.Sprintf("an L%d", l)
}

func nextLoad(b *bool) string {
	if b == nil {
		return "; next load: module default (nothing in modprobe.d)"
	}
	return "; next load: " + onOff(*b) + " (modprobe.d)"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func boolPtr(b *bool, unknown string) string {
	if b == nil {
		return unknown
	}
	return onOff(*b)
}

func strPtr(s *string, none string) string {
	if s == nil {
		return none
	}
	return *s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func modelSuffix(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

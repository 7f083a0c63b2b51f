package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/judge"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/stated"
)

// Headline is the verdict in one line, with what undetermined findings would
// change: "unsupported; tech-preview if ...". Migration is named apart: whether a
// host migrates its VMs is a fact of its use, not of the machine.
func Headline(r judge.CheckResult, s Style) []string {
	lines := headline(r, s)
	if r.Host.Windows != nil {
		// Windows keeps host.yaml under %ProgramData%.
		for i, l := range lines {
			lines[i] = strings.ReplaceAll(l, "/"+stated.HostConfig, `%ProgramData%\nestvirt\host.yaml`)
		}
	}
	return lines
}

func headline(r judge.CheckResult, s Style) []string {
	lines := []string{s.Level(r.Verdict)}
	// Each line is a promise judged again with the statement it names
	// (judge.Possibilities), never a guess from an undetermined finding.
	for _, c := range r.CouldBe {
		state := fmt.Sprintf("state it with %s, or in /%s (%s)", c.Flag, stated.HostConfig, c.File)
		if c.Fact == "host.migration" && strings.HasSuffix(c.Flag, " yes") {
			lines = append(lines, fmt.Sprintf("live migration: %s if this host live-migrates its VMs (%s); %s", s.Level(c.Level), c.Rule, state))
			continue
		}
		lines = append(lines, fmt.Sprintf("could be %s (%s) if %s: %s", s.Level(c.Level), c.Rule, c.If, state))
	}
	return lines
}

// MachineText is check's and vms's text: what nestvirt recorded on the host
// (a sosreport's), the host's result (nil for vms), its VMs (nil without
// them), then the sources both cited, numbered once.
func MachineText(w io.Writer, recorded *doc.RecordedPart, host *judge.CheckResult, vms *judge.Audit, s Style, quiet bool) error {
	cites := NewCites()
	var err error
	if !quiet {
		err = RecordedText(w, recorded, s)
	}
	if err == nil && host != nil {
		err = CheckText(w, *host, s, quiet, cites)
	}
	if err == nil && vms != nil {
		if host != nil {
			fmt.Fprintln(w)
		}
		err = VMsText(w, *vms, s, quiet, cites)
	}
	if err == nil && !quiet {
		err = s.WriteSources(w, cites)
	}
	return err
}

// CheckText writes a check result for a person: the verdict, the facts grouped,
// the findings by level, then the remedies and the sources. quiet keeps only
// findings that need action.
func CheckText(w io.Writer, r judge.CheckResult, s Style, quiet bool, cites *Cites) error {
	ew := errWriter(w)
	w = ew
	if quiet {
		fmt.Fprintf(w, "%s: %s\n", s.paint(bold, "This machine"), s.Level(r.Verdict))
		for _, f := range Deciding(r.Findings, r.Verdict) {
			s.wrap(w, "  ", s.Level(f.Level)+" "+f.Rule+": ", f.Message)
			if f.Remedy != "" {
				s.wrap(w, "    ", s.paint(bold, "remedy: "), f.Remedy)
			}
		}
		return ew.Err
	}
	h := r.Host
	row := func(k, v string) { fmt.Fprintf(w, "  %-10s %s\n", k, s.text(v)) }
	head := Headline(r, s)
	fmt.Fprintf(w, "%s: %s\n", s.paint(bold, "This machine"), head[0])
	for _, l := range head[1:] {
		s.wrapOwn(w, "  ", "", l)
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, s.paint(bold, "CPU"))
	row("arch", str(h.Arch))
	row("vendor", str(h.CPUVendor)+modelSuffix(probe.Str(h.CPUModel)))
	ext := "unknown (/proc/cpuinfo could not be read)"
	if h.Windows != nil {
		ext = "unknown (CPUID could not be read)"
		if w := h.Windows; w.HypervisorRunning != nil && *w.HypervisorRunning {
			ext = "hidden by Windows' own hypervisor, which runs, so VT-x/AMD-V reaches this machine"
		}
	}
	switch {
	case h.VirtExt != nil && *h.VirtExt == "none" && h.Windows != nil:
		ext = "none (CPUID shows neither vmx nor svm)"
	case h.VirtExt != nil && *h.VirtExt == "none":
		ext = "none (no vmx, svm or sie in /proc/cpuinfo)"
	case h.VirtExt != nil:
		ext = *h.VirtExt
		if h.SecondLevel != nil {
			ext += fmt.Sprintf(", second-level paging (EPT/NPT): %s", yesNo(*h.SecondLevel))
		}
	}
	row("extension", ext)
	row("guest bit", boolWord(h.HypervisorBit, "CPUID hypervisor bit set", "CPUID hypervisor bit not set"))

	k := h.KVM
	if h.Windows != nil {
		windowsText(w, *h.Windows, row, s)
	} else {
		kvmText(w, k, row, s)
	}

	fmt.Fprintln(w, s.paint(bold, "OS"))
	osLine := "unknown"
	if h.OS != nil {
		osLine = strings.TrimSpace(h.OS.ID + " " + h.OS.Version)
		if h.OS.Name != "" {
			osLine = h.OS.Name + " (" + osLine + ")"
		}
	}
	row("release", osLine)

	fmt.Fprintln(w, s.paint(bold, "Position"))
	v := h.Virtualization
	row("vm", str(v.VM))
	if v.VM != nil && *v.VM != "none" {
		row("runs on", hypervisorLine(v.Hypervisor))
	}
	row("container", str(v.Container))
	row("cloud", strOr(v.Cloud, "unknown"))
	row("level", levelLine(v))
	for _, e := range v.Evidence {
		s.wrap(w, "             ", s.paint(dim, "· "), e)
	}
	if st := h.Stated; st.Migration != nil || st.L0OS != nil || (v.LevelMin != nil && *v.LevelMin >= 1) || (k.Module != nil && *k.Module == "kvm_amd") {
		fmt.Fprintln(w, s.paint(bold, "Stated"))
		file := "/" + stated.HostConfig
		if h.Windows != nil {
			file = `%ProgramData%\nestvirt\host.yaml`
		}
		row("migration", boolWord(st.Migration, "yes, this host's VMs are live-migrated", "no, this host's VMs are not live-migrated")+statedHint(st.Migration == nil, "--migrates yes|no", file))
		if v.LevelMin != nil && *v.LevelMin >= 1 {
			row("L0 OS", strOr(st.L0OS, "not stated")+statedHint(st.L0OS == nil, "--l0-os rhel10.0", file))
		}
		for _, f := range st.From {
			row("", "from "+f)
		}
	}
	if len(h.Notes) > 0 {
		fmt.Fprintln(w, s.paint(bold, "Notes"))
		for _, n := range h.Notes {
			s.wrap(w, "  ", "· ", n)
		}
	}

	fmt.Fprintf(w, "\n%s\n", s.paint(bold, "Findings"))
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "  none: nothing in the policy places this machine in a listed environment")
	}
	s.findings(w, r.Findings, "  ", cites)
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
	return ew.Err
}

func statedHint(missing bool, flag, file string) string {
	if !missing {
		return ""
	}
	return " (state it: " + flag + ", or in " + file + ")"
}

func kvmText(w io.Writer, k probe.KVMFacts, row func(k, v string), s Style) {
	fmt.Fprintln(w, s.paint(bold, "KVM"))
	dev := boolWord(k.Available, "yes", "no")
	if k.Accessible != nil {
		dev += ", usable by this user: " + yesNo(*k.Accessible)
	}
	row("available", dev)
	row("module", strOr(k.Module, "unknown"))
	row("nested", nestedLine(k))
	if k.Hpage != nil || k.HpageNext != nil {
		row("hpage", boolWord(k.Hpage, "on", "off")+nextLoad(k.HpageNext, k.HpageNextFrom))
	}
	for _, c := range k.Config {
		row("", "set by "+c)
	}
}

// windowsText is the Windows side: its release, its own hypervisor, the
// features WSL 2 needs, and WSL.
func windowsText(w io.Writer, win probe.WindowsFacts, row func(k, v string), s Style) {
	fmt.Fprintln(w, s.paint(bold, "Windows"))
	rel := "unknown"
	if win.Build != nil {
		rel = "build " + strconv.Itoa(*win.Build)
		if win.UBR != nil {
			rel += "." + strconv.Itoa(*win.UBR)
		}
		if win.DisplayVersion != nil {
			rel = *win.DisplayVersion + ", " + rel
		}
	}
	if win.InstallationType != nil {
		rel += " (" + *win.InstallationType + ")"
	}
	row("release", rel)
	row("hypervisor", boolWord(win.HypervisorRunning, "Windows' own runs (Hyper-V, the Virtual Machine Platform or VBS): this Windows is its root partition", "Windows' own does not run"))
	row("VT-x/AMD-V", boolWord(win.VirtualizationExposed, "reaches this machine", "does not reach this machine"))
	f := win.Features
	row("features", "Virtual Machine Platform "+boolWord(f.VirtualMachinePlatform, "on", "off")+", Hyper-V "+boolWord(f.HyperV, "on", "off")+", WSL "+boolWord(f.WSL, "on", "off"))
	wmi := win.WMI
	cpu := "firmware virtualization " + boolWord(wmi.FirmwareEnabled, "on", "off") + ", VM monitor extensions " + boolWord(wmi.VMMonitorModeExtensions, "yes", "no")
	if wmi.FirmwareEnabled == nil && wmi.VMMonitorModeExtensions == nil && wmi.HypervisorPresent != nil && *wmi.HypervisorPresent {
		cpu = "the processor's virtualization fields are blank while a hypervisor runs"
	}
	row("WMI", "hypervisor present "+boolWord(wmi.HypervisorPresent, "yes", "no")+"; "+cpu)
	wsl := win.WSL
	line := boolWord(wsl.Installed, "installed", "not installed")
	if wsl.DefaultVersion != nil {
		line += fmt.Sprintf("; default version %d", *wsl.DefaultVersion)
	}
	row("WSL", line)
	if wsl.Distributions == nil {
		row("", "distributions: unknown")
	}
	for _, d := range wsl.Distributions {
		v := "WSL version unknown"
		if d.Version != nil {
			v = fmt.Sprintf("WSL %d", *d.Version)
		}
		if d.Default {
			v += ", the default"
		}
		row("", d.Name+": "+v)
	}
	row("nesting", "nestedVirtualization "+boolWord(wsl.NestedVirtualization, "on", "off")+strOr(wrapParen(wsl.NestedVirtualizationFrom), ""))
}

func wrapParen(s *string) *string {
	if s == nil {
		return nil
	}
	p := " (" + *s + ")"
	return &p
}

func nestedLine(k probe.KVMFacts) string {
	mod := probe.Str(k.Module)
	cfg := probe.Str(k.ConfigModule)
	switch {
	case k.Module == nil:
		return "unknown (which KVM module is loaded is unknown)"
	case mod == "kvm_pvm" && cfg == "":
		return "not applicable (kvm_pvm has no nested parameter, and this CPU shows no vmx or svm for kvm_intel or kvm_amd)"
	case mod == "kvm_pvm":
		return "not applicable (kvm_pvm has no nested parameter); " + cfg + " at its next load" + strings.TrimPrefix(nextLoad(k.NestedNext, k.NestedNextFrom), "; next load")
	case mod == "none" && cfg == "":
		return "not applicable (no KVM module can load here)"
	case mod == "none":
		return "not loaded; " + cfg + " at its next load" + strings.TrimPrefix(nextLoad(k.NestedNext, k.NestedNextFrom), "; next load")
	}
	return boolWord(k.Nested, "on", "off") + nextLoad(k.NestedNext, k.NestedNextFrom)
}

func levelLine(v probe.Virtualization) string {
	switch {
	case v.LevelExact && v.Level != nil:
		return fmt.Sprintf("%d (%s)", *v.Level, levelName(*v.Level))
	case v.LevelMin != nil:
		return fmt.Sprintf("≥ %d (a guest cannot see past its own hypervisor; only IBM Z reports the whole stack)", *v.LevelMin)
	}
	return "unknown"
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

func hypervisorLine(h *string) string {
	if h == nil {
		return "unknown (QEMU with KVM, or QEMU's emulation? the evidence does not tell)"
	}
	return policy.HypervisorName(*h)
}

func nextLoad(b *bool, from *string) string {
	if b == nil {
		return "; next load: unknown"
	}
	return "; next load: " + onOff(*b) + " (" + probe.Str(from) + ")"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func boolWord(b *bool, yes, no string) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return yes
	}
	return no
}

func str(s *string) string { return strOr(s, "unknown") }

func strOr(s *string, none string) string {
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

func modelSuffix(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

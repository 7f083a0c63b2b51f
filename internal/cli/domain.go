package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/domxml"
	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/topology"
)

type annotateOptions struct {
	connect string
	runs    string
	l2      []string
	os      string
}

func (a *app) annotateCmd() *cobra.Command {
	o := annotateOptions{}
	cmd := &cobra.Command{
		Use:   "annotate DOMAIN --runs wsl2|hyper-v|kvm|none [--l2 OS,...] [--os OS]",
		Short: "Record what a guest runs inside (and its OS) in its libvirt metadata",
		Long: `Record in the domain's <metadata>, in nestvirt's own namespace and through libvirt's
metadata API (the rest of the definition is not rewritten), what the guest runs its
own guests with and which OSes they are, so 'nestvirt vms' judges the whole chain.
--os records or corrects the guest's OS where libosinfo metadata is missing or wrong.`,
		Example: "  nestvirt annotate win11 --runs wsl2 --l2 ubuntu24.04\n  nestvirt annotate lab1 --runs kvm --l2 rhel10.0,rhel9.6 --os rhel9.6",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("runs") {
				return inputErrorf("--runs is required (one of: %s)", strings.Join(topology.GuestRuns, ", "))
			}
			return a.runAnnotate(o, args[0])
		},
	}
	addConnectFlag(cmd, &o.connect)
	cmd.Flags().StringVar(&o.runs, "runs", "", "what the guest runs its guests with: "+strings.Join(topology.GuestRuns, ", "))
	cmd.Flags().StringSliceVar(&o.l2, "l2", nil, "OS of each of its guests (as in topology files: ubuntu24.04, rhel10.0)")
	cmd.Flags().StringVar(&o.os, "os", "", "the guest's own OS, where libosinfo metadata is missing or wrong")
	return cmd
}

func (a *app) runAnnotate(o annotateOptions, name string) error {
	if !contains(topology.GuestRuns, o.runs) {
		return inputErrorf("--runs: unknown value %q (one of: %s)", o.runs, strings.Join(topology.GuestRuns, ", "))
	}
	var l2 []string
	for _, s := range o.l2 {
		os, err := osid.Parse(s)
		if err != nil {
			return inputErrorf("--l2: %v", err)
		}
		l2 = append(l2, os.ID)
	}
	if len(l2) > 0 && o.runs == "none" {
		return inputErrorf("--l2 needs --runs kvm, hyper-v or wsl2: a guest that runs none has no guests")
	}
	osName := ""
	if o.os != "" {
		os, err := osid.Parse(o.os)
		if err != nil {
			return inputErrorf("--os: %v", err)
		}
		osName = os.ID
	}
	conn, err := libvirt.Connect(o.connect, false)
	if err != nil {
		return inputError{err}
	}
	defer conn.Close()
	ann, err := conn.Annotate(name, o.runs, l2, osName)
	if err != nil {
		return inputError{err}
	}
	fmt.Fprintf(a.stdout, "%s: runs %s", name, ann.Runs)
	if len(ann.L2) > 0 {
		fmt.Fprintf(a.stdout, " with L2 %s", strings.Join(ann.L2, ", "))
	}
	if ann.OS != "" {
		fmt.Fprintf(a.stdout, "; OS %s", ann.OS)
	}
	fmt.Fprintln(a.stdout, " (recorded in its metadata)")
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

type exposeOptions struct {
	connect string
	root    string
	file    string
	arch    string
	vendor  string
	hyperv  string
	dryRun  bool
}

func (a *app) exposeCmd(undo bool) *cobra.Command {
	o := exposeOptions{}
	use, short := "expose DOMAIN | --file domain.xml", "Make a VM expose virtualization to its guest, keeping every other byte of its definition"
	if undo {
		use, short = "unexpose DOMAIN | --file domain.xml", "Restore the <cpu> (and Hyper-V settings) that expose replaced"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.

expose edits only <cpu> (host-passthrough, or <feature policy='require'> for vmx,
svm or sie on the CPU model in use) and, for a Windows guest that runs Hyper-V or
WSL2, <features><hyperv> (enlightened VMCS on Intel only). Every other element,
attribute, namespace, comment and metadata is kept byte for byte; the original <cpu>
is kept in nestvirt's metadata so unexpose can restore it. A running domain keeps
running: the change applies at its next cold boot. It refuses where this host cannot
nest (see nestvirt check). With --file it edits a file and prints the result, with
no libvirt needed.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (o.file != "") {
				return inputErrorf("give a DOMAIN or --file, one of them")
			}
			if o.file != "" {
				return a.runExposeFile(o, undo)
			}
			return a.runExposeDomain(o, args[0], undo)
		},
	}
	addConnectFlag(cmd, &o.connect)
	cmd.Flags().StringVar(&o.file, "file", "", "edit this domain XML file instead (- for stdin); the result goes to stdout")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print a unified diff of the definition (secrets masked) and change nothing")
	if !undo {
		cmd.Flags().StringVar(&o.root, "root", "/", "read this host's facts from a snapshot instead of /")
		cmd.Flags().StringVar(&o.arch, "arch", "", "with --file: the guest's arch (default: from the XML)")
		cmd.Flags().StringVar(&o.vendor, "vendor", "", "with --file: the host CPU vendor, intel or amd (default: this machine's)")
		cmd.Flags().StringVar(&o.hyperv, "hyperv", "auto", "Hyper-V enlightenments: auto (Windows guests annotated as running wsl2 or hyper-v), on, off")
	}
	return cmd
}

func (a *app) runExposeFile(o exposeOptions, undo bool) error {
	var data []byte
	var err error
	if o.file == "-" {
		data, err = io.ReadAll(io.LimitReader(a.stdin, domxml.MaxSize+1))
	} else {
		data, err = readLimited(o.file, domxml.MaxSize)
	}
	if err != nil {
		return inputError{err}
	}
	var res domxml.Result
	if undo {
		res, err = domxml.Unexpose(data)
	} else {
		vendor := o.vendor
		if vendor == "" {
			vendor = probe0().CPUVendor
		}
		if vendor != "" && vendor != "intel" && vendor != "amd" && o.vendor != "" {
			return inputErrorf("--vendor: unknown value %q (intel, amd)", o.vendor)
		}
		hv, herr := hypervWanted(o.hyperv, data)
		if herr != nil {
			return herr
		}
		res, err = domxml.Expose(data, domxml.ExposeOptions{Arch: o.arch, Vendor: vendor, Hyperv: hv})
	}
	if err != nil {
		return inputError{fmt.Errorf("%s: %w", o.file, err)}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(a.stderr, "nestvirt: %s\n", n)
	}
	if o.dryRun {
		return writeDiff(a.stdout, o.file, libvirt.MaskSecrets(data), libvirt.MaskSecrets(res.XML))
	}
	_, err = a.stdout.Write(res.XML)
	return err
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB; not a domain definition", path, limit>>20)
	}
	return data, nil
}

// hypervWanted decides the Hyper-V enlightenments: on for a Windows guest recorded
// as running WSL2 or Hyper-V, when auto.
func hypervWanted(mode string, xml []byte) (bool, error) {
	switch mode {
	case "on":
		return true, nil
	case "off":
		return false, nil
	case "auto":
		ann, _ := domxml.ReadAnnotation(xml)
		if ann.Runs != "wsl2" && ann.Runs != "hyper-v" {
			return false, nil
		}
		return true, nil
	}
	return false, inputErrorf("--hyperv: unknown value %q (auto, on, off)", mode)
}

func (a *app) runExposeDomain(o exposeOptions, name string, undo bool) error {
	conn, err := libvirt.Connect(o.connect, false)
	if err != nil {
		return inputError{err}
	}
	defer conn.Close()
	var ch libvirt.Change
	if undo {
		ch, err = conn.Unexpose(name, o.dryRun)
	} else {
		facts, ferr := hostFacts(o.root)
		if ferr != nil {
			return ferr
		}
		l0, _ := libvirt.L0(facts)
		if !l0.Nested {
			return inputErrorf("this host cannot nest (its KVM module has nesting off, or its KVM cannot pass virtualization on): exposing %s would not let it run VMs; run 'nestvirt check' for the remedy", name)
		}
		d, lerr := conn.Lookup(name)
		if lerr != nil {
			return inputError{lerr}
		}
		x, xerr := conn.XML(d, true, false)
		if xerr != nil {
			return inputError{xerr}
		}
		hv, herr := hypervWanted(o.hyperv, []byte(x))
		if herr != nil {
			return herr
		}
		ch, err = conn.Expose(name, domxml.ExposeOptions{Vendor: facts.CPUVendor, Hyperv: hv}, o.dryRun)
	}
	if err != nil {
		return inputError{err}
	}
	for _, n := range ch.Notes {
		fmt.Fprintf(a.stderr, "nestvirt: %s\n", n)
	}
	if o.dryRun {
		return writeDiff(a.stdout, name, ch.Before, ch.After)
	}
	switch {
	case !ch.Changed:
		fmt.Fprintf(a.stdout, "%s: nothing to change\n", name)
	case ch.Active:
		fmt.Fprintf(a.stdout, "%s: definition updated; it keeps running, and the change applies at its next cold boot (shut it down, then start it: a reboot from inside keeps the old CPU)\n", name)
	default:
		fmt.Fprintf(a.stdout, "%s: definition updated; it applies at its next start\n", name)
	}
	return nil
}

func writeDiff(w io.Writer, name string, before, after []byte) error {
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(before)), B: difflib.SplitLines(string(after)),
		FromFile: name + " (current)", ToFile: name + " (new)", Context: 3,
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, d)
	return err
}

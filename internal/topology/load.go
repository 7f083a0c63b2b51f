package topology

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/osid"
	"github.com/nestvirt/nestvirt/internal/strictyaml"
)

// MaxGuestDepth bounds how deep guests may nest in a file. The rules stop having
// anything new to say after L3; 16 levels leaves room for what-if files.
const MaxGuestDepth = 16

// Parse reads one topology document. file names it in problems. The error, when
// not nil, is a strictyaml.Problems listing every mistake.
func Parse(file string, data []byte) (*Topology, error) {
	doc, root, err := strictyaml.Parse(file, data)
	if err != nil {
		return nil, err
	}
	t := &Topology{File: file}
	top := root.Map("version", "name", "host")
	if v, ok := top["version"].Int(); ok && v != 1 {
		top["version"].Errorf("unsupported version %d (this nestvirt reads version 1)", v)
	}
	t.Name, _ = top["name"].StringMax(MaxName)
	if !top["host"].Present() {
		top["host"].Errorf("missing: a topology needs a host (the L0)")
	} else {
		readHost(top["host"], &t.Host)
	}
	if err := doc.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

func readHost(n strictyaml.Node, h *Host) {
	f := n.Map("name", "os", "arch", "cpu", "hypervisor", "platform", "nested", "hugepages", "migration", "guests")
	h.Name = "host"
	if s, ok := f["name"].StringMax(MaxName); ok {
		h.Name = s
		checkName(f["name"], s)
	}
	h.Arch = orDefault(f["arch"], "x86_64", Arches)
	h.Hypervisor = orDefault(f["hypervisor"], "kvm", HostHypervisors)
	// A hypervisor that is not one of the values is the problem to report; what
	// a KVM host would need follows only from a hypervisor that is KVM.
	hvKnown := !f["hypervisor"].Present() || f["hypervisor"].Problems() == 0
	h.Platform = orDefault(f["platform"], "rhel", Platforms)
	h.OS = readOS(f["os"])
	if h.OS == nil && !f["os"].Present() && h.Hypervisor == "kvm" && hvKnown {
		f["os"].Errorf("missing: a KVM host needs its OS (for example os: rhel10.0)")
	}
	if h.OS != nil && h.Hypervisor == "kvm" && h.OS.Kind != osid.Linux {
		f["os"].Errorf("a KVM host runs Linux, not %s (set hypervisor: hyper-v for a Windows host)", h.OS)
	}
	if f["cpu"].Present() {
		cpu, ok := f["cpu"].OneOfAliased(aliases, CPUs...)
		if ok && h.Arch != "x86_64" {
			f["cpu"].Errorf("cpu is only for x86_64; the vendor of %s is implied", h.Arch)
		}
		h.CPU = cpu
	} else if h.Arch == "x86_64" {
		h.CPU = "intel"
	}
	h.Nested = boolOr(f["nested"], true)
	h.Hugepages = boolOr(f["hugepages"], false)
	h.Migration = boolOr(f["migration"], false)
	h.Guests = readGuests(f["guests"], 1)
}

func readGuests(n strictyaml.Node, level int) []*Guest {
	items := n.Seq()
	if len(items) == 0 {
		return nil
	}
	if level > MaxGuestDepth {
		n.Errorf("guests nest deeper than L%d; nestvirt judges up to that depth", MaxGuestDepth)
		return nil
	}
	var out []*Guest
	names := map[string]int{}
	for _, item := range items {
		f := item.Map("name", "os", "hypervisor", "migrates", "hugepages", "build", "guests")
		g := &Guest{}
		if s, ok := f["name"].StringMax(MaxName); ok {
			g.Name = s
			checkName(f["name"], s)
			if prev, dup := names[s]; dup {
				f["name"].Errorf("duplicate name %q (also at line %d); sibling guests need unique names", s, prev)
			}
			names[s] = f["name"].Line()
		} else if !f["name"].Present() {
			item.Errorf("missing name: every guest needs one")
		}
		g.OS = readOS(f["os"])
		g.Guests = readGuests(f["guests"], level+1)
		if f["hypervisor"].Present() {
			g.Runs, _ = f["hypervisor"].OneOfAliased(aliases, GuestRuns...)
			g.RunsStated = true
		} else {
			g.Runs = inferRuns(g)
		}
		if f["migrates"].Present() {
			if b, ok := f["migrates"].Bool(); ok {
				g.Migrates = &b
			}
			if level > 1 {
				f["migrates"].Errorf("migrates is for an L1 (a VM of the host); the page's migration limitation is the L0's")
			}
		}
		g.Hugepages = boolOr(f["hugepages"], false)
		if f["build"].Present() {
			if b, ok := f["build"].Int(); ok {
				switch {
				case g.OS == nil || g.OS.Kind != osid.Windows:
					f["build"].Errorf("build is a Windows build number; %s is not Windows", osName(g.OS))
				case b < 7600 || b > 99999:
					f["build"].Errorf("build %d is not a Windows build number (Windows 10 1903 is 18362, Server 2019 17763)", b)
				default:
					g.Build = b
				}
			}
		}
		switch {
		case len(g.Guests) > 0 && g.Runs == "none":
			f["hypervisor"].Errorf("guest %q has guests but runs no hypervisor (hypervisor: none)", g.Name)
		case len(g.Guests) > 0 && g.Runs == "":
			f["hypervisor"].Errorf("guest %q has guests: say what runs them (hypervisor: kvm, hyper-v or wsl2)", g.Name)
		}
		if g.OS != nil && g.OS.Kind == osid.Linux && (g.Runs == "wsl2" || g.Runs == "hyper-v") {
			f["hypervisor"].Errorf("%s is a Windows hypervisor; %s runs kvm", g.Runs, g.OS)
		}
		if g.OS != nil && g.OS.Kind == osid.Windows && g.Runs == "kvm" {
			f["hypervisor"].Errorf("a Windows guest does not run kvm; use hyper-v or wsl2")
		}
		out = append(out, g)
	}
	return out
}

func osName(o *osid.OS) string {
	if o == nil {
		return "a guest without an os"
	}
	return o.String()
}

// inferRuns fills hypervisor where the file leaves it out: a Linux guest with guests
// runs KVM; a Windows one could run Hyper-V or WSL2, so it must say.
func inferRuns(g *Guest) string {
	if len(g.Guests) == 0 {
		return "none"
	}
	if g.OS != nil && g.OS.Kind == osid.Linux {
		return "kvm"
	}
	return ""
}

// MaxName bounds a name in a topology (a host's, a guest's, the file's): libvirt's
// domain names are far shorter.
const MaxName = 256

func readOS(n strictyaml.Node) *osid.OS {
	s, ok := n.StringMax(osid.MaxName)
	if !ok {
		return nil
	}
	o, err := osid.Parse(s)
	if err != nil {
		n.Errorf("%s", err)
		return nil
	}
	return &o
}

// aliases are the other names people give the values of a topology file: each
// is suggested by its meaning.
var aliases = map[string]string{
	"vmware": "esxi", "vsphere": "esxi", "esx": "esxi", "hyperv": "hyper-v", "microsoft": "hyper-v",
	"amazon": "aws", "ec2": "aws", "qemu-kvm": "kvm", "libvirt": "kvm",
	"amd64": "x86_64", "x64": "x86_64", "x86-64": "x86_64", "arm64": "aarch64", "arm": "aarch64",
	"s390": "s390x", "ibmz": "s390x", "ppc64el": "ppc64le", "power": "ppc64le",
	"genuineintel": "intel", "authenticamd": "amd",
}

func orDefault(n strictyaml.Node, def string, allowed []string) string {
	if !n.Present() {
		return def
	}
	v, ok := n.OneOfAliased(aliases, allowed...)
	if !ok {
		return def
	}
	return v
}

func boolOr(n strictyaml.Node, def bool) bool {
	if v, ok := n.Bool(); ok {
		return v
	}
	return def
}

func checkName(n strictyaml.Node, s string) {
	if strings.TrimSpace(s) == "" {
		n.Errorf("name is empty")
	}
	if len(s) > 253 {
		n.Errorf("name is %d characters; at most 253", len(s))
	}
}

// Input is one file to load, by its name and content.
type Input struct {
	Name string
	Data []byte
	Err  error // a read error; Parse is not attempted
}

// Extensions a directory is searched for.
var Extensions = []string{".yaml", ".yml", ".json"}

// Expand turns command-line arguments into the files they name: a directory
// stands for its topology files (sorted; with recursive, those of its
// subdirectories too), "-" for standard input. skipped says what the directories
// held that is not read (subdirectories without recursive, other files), so
// nothing is left out silently.
func Expand(args []string, recursive bool) (files, skipped []string, err error) {
	for _, a := range args {
		if a == "-" {
			files = append(files, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			// A file, or nothing: the loader reports a missing file as it does
			// a malformed one, beside the others.
			files = append(files, a)
			continue
		}
		found, sk, err := walkDir(a, recursive)
		if err != nil {
			return nil, nil, err
		}
		if len(found) == 0 {
			return nil, nil, fmt.Errorf("%s: no topology files (%s) in directory", a, strings.Join(Extensions, ", "))
		}
		files = append(files, found...)
		skipped = append(skipped, sk...)
	}
	return files, skipped, nil
}

func walkDir(dir string, recursive bool) (found, skipped []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir() && recursive:
			f, s, err := walkDir(p, true)
			if err != nil {
				return nil, nil, err
			}
			found, skipped = append(found, f...), append(skipped, s...)
		case e.IsDir():
			skipped = append(skipped, p+"/ (a directory: --recursive reads it)")
		case e.Type().IsRegular() && hasExt(e.Name()):
			found = append(found, p)
		case strings.HasPrefix(e.Name(), "."):
		default:
			skipped = append(skipped, p+" (not "+strings.Join(Extensions, ", ")+")")
		}
	}
	sort.Strings(found)
	return found, skipped, nil
}

func hasExt(name string) bool {
	lower := strings.ToLower(name)
	for _, e := range Extensions {
		if strings.HasSuffix(lower, e) {
			return true
		}
	}
	return false
}

// ReadFile reads a file (or stdin for "-") up to the size limit, so a file of
// hundreds of megabytes is refused without being read whole.
func ReadFile(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader
	size := 0
	if name == "-" {
		r = stdin
	} else {
		data, err := fsroot.ReadNamed(name, strictyaml.MaxBytes)
		if errors.Is(err, fsroot.ErrTooLarge) {
			return nil, fmt.Errorf("%s: larger than %d MiB; a topology file is small", name, strictyaml.MaxBytes>>20)
		}
		return data, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+512))
	_, err := buf.ReadFrom(io.LimitReader(r, strictyaml.MaxBytes+1))
	data := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > strictyaml.MaxBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB; a topology file is small", name, strictyaml.MaxBytes>>20)
	}
	return data, nil
}

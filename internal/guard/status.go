package guard

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/rootexec"
)

// StatusOptions say which hook to look at, and how to read what it decides
// with on this host.
type StatusOptions struct {
	HooksDir string
	// Policy is the policy file the caller names (--policy), absolute; "" for
	// the embedded one. A hook installed with another is a problem.
	Policy string
	// Load loads the policy the decisions below are made with.
	Load func() (*policy.Policy, error)
	// Facts reads a host's facts (root "/" for this machine); an error that
	// leaves facts (a host.yaml that is not valid) is a problem, not a failure.
	Facts func(root string) (probe.Facts, error)
	// Root is the facts tree asked for (--root); "/" for this machine, or the
	// tree the hook records.
	Root string
	// Started is when this machine's libvirt daemon started, and its name.
	Started func() (time.Time, string, bool)
	// ProbeTime bounds the one run of the hook's binary.
	ProbeTime time.Duration
}

// Status is what guard status reports.
type Status struct {
	Path      string
	Installed bool    // a file is there
	Ours      bool    // it is nestvirt's
	Config    *Config // how it was installed, when it says
	// PolicyName is the policy the hook decides with.
	PolicyName string
	// Problems are what makes the hook not do what it should, one per line.
	Problems []string
	// Would is what the hook would decide on this host for each operation.
	Would []Would
}

// Would is one operation the hook would decide, and how.
type Would struct {
	What     string // "an incoming migration", ...
	Decision Decision
	// Verdict is the decision in words: allowed, refused (rule), allowed with
	// a warning (rule), allowed without judging: why.
	Verdict string
}

// examples are the domains status asks about: a plain guest and one backed
// by huge pages, started or migrated in.
var examples = []struct {
	what, op string
	xml      []byte
}{
	{"an incoming migration", "migrate", []byte("<domain type='kvm'><name>example</name><memory>65536</memory><os><type>hvm</type></os></domain>")},
	{"starting a guest", "prepare", []byte("<domain type='kvm'><name>example</name><memory>65536</memory><os><type>hvm</type></os></domain>")},
	{"starting a guest with huge pages", "prepare", []byte("<domain type='kvm'><name>example</name><memory>65536</memory><memoryBacking><hugepages/></memoryBacking><os><type>hvm</type></os></domain>")},
}

// what the hook's files let happen: libvirt runs everything in qemu.d.
const runsWhat = "libvirt runs as root at every VM start"

// CheckStatus looks at the installed hook: is it nestvirt's, as install wrote
// it, runnable by root and changeable by root alone (the hooks directory, its
// qemu.d, the hook, the binary, the policy and the facts tree it uses), and
// what it would decide on this host. A failure to read the hook or the policy
// is an error; everything else is a problem in the status.
func CheckStatus(o StatusOptions) (Status, error) {
	script, ours, info, err := Installed(o.HooksDir)
	if err != nil {
		return Status{}, err
	}
	st := Status{Path: Path(o.HooksDir), Installed: script != "", Ours: ours, PolicyName: Config{}.PolicyName()}
	problem := func(format string, args ...any) { st.Problems = append(st.Problems, fmt.Sprintf(format, args...)) }
	root := o.Root
	if script != "" {
		for _, err := range rootexec.InstallPath([]string{o.HooksDir, filepath.Join(o.HooksDir, "qemu.d")}, Path(o.HooksDir), runsWhat) {
			problem("%s", err)
		}
	}
	if script != "" && ours {
		cfg, ok := ReadConfig(script)
		if !ok {
			problem("the hook does not record how it was installed (installed by an older nestvirt?): reinstall it")
		} else {
			st.Config = &cfg
			st.checkInstalled(o, cfg, script, problem)
			if cfg.Root != "" && o.Root == "/" {
				root = cfg.Root
			}
		}
		if info.Mode().Perm()&0o111 == 0 {
			problem("the hook is not executable (mode %v): libvirt cannot run it", info.Mode().Perm())
		}
		// libvirtd looks for hooks when it starts; one that found this hook
		// then runs it, reinstalled or not.
		since := info.ModTime()
		if st.Config != nil {
			if t, err := time.Parse(time.RFC3339, st.Config.Since); err == nil {
				since = t
			}
		}
		if o.Started != nil {
			if started, name, ok := o.Started(); ok && started.Before(since) {
				problem("%s started before the hook was first installed (%s) and looks for hooks only at start: restart it, or the hook is not run", name, since.Format(time.RFC3339))
			}
		}
	}
	for _, l := range Leftovers(o.HooksDir) {
		problem("leftover of an interrupted install: %s (nestvirt guard uninstall or install removes it)", l)
	}
	facts, ferr := o.Facts(root)
	if ferr != nil {
		if facts.Arch == nil && facts.Hostname == nil {
			return st, ferr
		}
		problem("%s: the hook ignores what it states and judges with the probed facts", oneLine(ferr))
	}
	p, err := o.Load()
	if err != nil {
		return st, err
	}
	for _, ex := range examples {
		d := Decide(p, Input{Domain: "example", Op: ex.op, SubOp: "begin", XML: ex.xml, Facts: facts, Mode: Enforce})
		st.Would = append(st.Would, Would{What: ex.what, Decision: d, Verdict: d.Words()})
	}
	return st, nil
}

// checkInstalled checks what the installed hook runs and decides with.
func (st *Status) checkInstalled(o StatusOptions, cfg Config, script string, problem func(string, ...any)) {
	unjudged := "; every VM start is judged by nothing (" + map[bool]string{false: "allowed", true: "refused"}[cfg.FailClosed] + ")"
	if err := CheckBinary(cfg.Binary); err != nil {
		// What the hook does with it: the script runs only a binary root
		// alone can change; one that does not start is reported by it.
		problem("the binary the hook runs: %s; the hook does not run it%s", err, unjudged)
	} else if err := RunsBinary(cfg.Binary, o.ProbeTime); err != nil {
		problem("the binary the hook runs: %s%s", err, unjudged)
	}
	if !Genuine(script) {
		problem("the hook is not what nestvirt guard install writes for the configuration it records (edited by hand?): libvirt may run something else; reinstall it")
	}
	if cfg.Policy != "" {
		st.PolicyName = cfg.Policy
		if err := rootexec.CheckFile(cfg.Policy, "every VM start is judged by"); err != nil {
			problem("the policy the hook uses: %s; the hook will not decide with it%s", err, unjudged)
		} else if _, err := policy.LoadFile(cfg.Policy); err != nil {
			problem("the policy the hook uses does not load: %s", oneLine(err))
		}
	}
	if cfg.Root != "" {
		if err := rootexec.CheckTree(cfg.Root, "every VM start is judged by"); err != nil {
			problem("the facts tree the hook reads: %s; the hook will not decide with it%s", err, unjudged)
		}
	}
	if o.Policy != cfg.Policy && !(o.Policy == "" && cfg.Policy == "") {
		if o.Policy != "" {
			problem("the hook judges with %s, not with --policy %s: reinstall it with that policy to make it so", st.PolicyName, o.Policy)
		}
	}
}

// Words is a decision as guard status says it.
func (d Decision) Words() string {
	switch {
	case !d.Allow:
		return "refused (" + d.Rule + ")"
	case d.Rule != "":
		return "allowed with a warning (" + d.Rule + ")"
	case d.CannotJudge != "":
		return "allowed without judging: cannot judge (" + d.CannotJudge + ")"
	}
	return "allowed"
}

// ErrBroken is a status with problems.
var ErrBroken = errors.New("the guard is installed but broken")

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

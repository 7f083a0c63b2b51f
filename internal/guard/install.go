package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/rootexec"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// HookName is the guard's file in libvirt's qemu.d hook directory.
const HookName = "nestvirt-guard"

// DefaultHooksDir is libvirt's hook directory, where install writes unless told
// otherwise.
const DefaultHooksDir = "/etc/libvirt/hooks"

const marker = "# nestvirt-guard: installed by 'nestvirt guard install'"

// configPrefix starts the script line that records how it was installed, for
// guard status.
const configPrefix = "# nestvirt-guard-config: "

// SuggestedBinary is where packages install nestvirt.
const SuggestedBinary = rootexec.SuggestedBinary

// Config is how the installed hook calls nestvirt.
type Config struct {
	Binary     string `json:"binary"` // absolute path of nestvirt
	Policy     string `json:"policy"` // absolute path of a policy file; "" for the embedded one
	Mode       string `json:"mode"`
	FailClosed bool   `json:"fail_closed"`
	Root       string `json:"root"` // facts from this snapshot tree instead of / ("" for /)
	// Since is when a hook was first installed here (kept by a re-install): a
	// libvirtd started after it runs the hook (guard status).
	Since string `json:"since,omitempty"`
}

// RunsBinary runs the binary the hook will run, once (nestvirt version), and
// says why it cannot be pointed at: a binary that does not start (truncated,
// another arch, not nestvirt) would leave every VM start unjudged.
func RunsBinary(bin string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if ctx.Err() != nil {
		return fmt.Errorf("%s version did not answer within %s", bin, timeout)
	}
	if err != nil {
		return fmt.Errorf("%s does not run (%s version: %w)", bin, bin, err)
	}
	if !strings.HasPrefix(string(out), "nestvirt ") {
		return fmt.Errorf("%s is not nestvirt: 'version' printed %.60q", bin, out)
	}
	return nil
}

// Genuine says whether an installed hook is byte for byte what install writes
// for the configuration it records: a line changed in it (an inserted exit 0)
// would change what libvirt runs without guard status seeing it otherwise.
func Genuine(script string) bool {
	c, ok := ReadConfig(script)
	return ok && Script(c) == script
}

// HookTimeout bounds a whole run of nestvirt from the hook script: past it, the
// script allows the operation (or refuses, fail-closed). nestvirt's own budget for
// a decision is shorter (DecisionBudget).
const HookTimeout = 5

// Script is the hook file's content. It passes libvirt's arguments and stdin to
// nestvirt and only ever refuses on nestvirt's explicit refusal (exit 1): a
// missing, broken or slow nestvirt is logged and the operation allowed, unless
// fail-closed. Nothing is written to stdout, which libvirt reads as a new domain
// XML for migrations.
func Script(c Config) string {
	args := []string{"guard", "hook", "--mode", c.Mode}
	if c.FailClosed {
		args = append(args, "--fail-closed")
	}
	if c.Policy != "" {
		args = append(args, "--policy", rootexec.Quote(c.Policy))
	}
	if c.Root != "" && c.Root != "/" {
		args = append(args, "--root", rootexec.Quote(c.Root))
	}
	fail := "0"
	if c.FailClosed {
		fail = "1"
	}
	cfg, _ := json.Marshal(c)
	return `#!/bin/sh
` + marker + `
` + configPrefix + string(cfg) + `
# libvirt runs this for each QEMU domain operation; see 'nestvirt guard --help'.
# It refuses only when nestvirt refuses (exit 1). A nestvirt that is missing,
# broken or slow is reported and the operation ` + map[bool]string{false: "allowed (fail open)", true: "refused (--fail-closed)"}[c.FailClosed] + `.
bin=` + rootexec.Quote(c.Binary) + `
fail=` + fail + `
say() {
	echo "nestvirt-guard: $1" >&2
	if command -v timeout >/dev/null 2>&1; then
		timeout 1 logger -t nestvirt-guard -p daemon.warning -- "$1" 2>/dev/null
	fi
	return 0
}
if [ ! -x "$bin" ]; then
	say "$bin is missing or not executable; domain $1 operation $2: $( [ $fail = 1 ] && echo refused || echo allowed ) without judging"
	exit $fail
fi
# Root runs $bin at every VM start: only a file root alone can change (the
# user running this, which is root under libvirt).
if command -v find >/dev/null 2>&1 && [ -z "$(find "$bin" -maxdepth 0 -type f \( -user 0 -o -user "$(id -u)" \) ! -perm /022 2>/dev/null)" ]; then
	say "$bin is not root's alone (another owner, a symlink, or writable by group or others): not run; domain $1 operation $2: $( [ $fail = 1 ] && echo refused || echo allowed ) without judging"
	exit $fail
fi
if command -v timeout >/dev/null 2>&1; then
	timeout -k 1 ` + fmt.Sprint(HookTimeout) + ` "$bin" ` + strings.Join(args, " ") + ` -- "$@" >&2
else
	"$bin" ` + strings.Join(args, " ") + ` -- "$@" >&2
fi
rc=$?
case $rc in
0|1) exit $rc ;;
esac
say "nestvirt exited $rc; domain $1 operation $2: $( [ $fail = 1 ] && echo refused || echo allowed ) without judging"
exit $fail
`
}

// ReadConfig reads the configuration an installed script records.
func ReadConfig(script string) (Config, bool) {
	for _, l := range strings.Split(script, "\n") {
		if rest, ok := strings.CutPrefix(l, configPrefix); ok {
			var c Config
			if json.Unmarshal([]byte(rest), &c) == nil {
				return c, true
			}
		}
	}
	return Config{}, false
}

// hookRel is the hook's path inside the hooks directory.
var hookRel = "qemu.d/" + HookName

// PolicyName names the policy the hook decides with.
func (c Config) PolicyName() string {
	if c.Policy != "" {
		return c.Policy
	}
	return "the embedded policy"
}

// Path is the hook's path under a hooks directory.
func Path(hooksDir string) string { return filepath.Join(hooksDir, "qemu.d", HookName) }

// CheckBinary says why the hook must not run a binary (rootexec.Check).
func CheckBinary(path string) error { return rootexec.Check(path, "every VM start runs") }

// ErrNotOurs refuses to replace or remove a hook nestvirt did not install.
var ErrNotOurs = fsroot.ErrNotOurs

// ErrUntrusted refuses to install into a directory someone other than root
// could change.
var ErrUntrusted = errors.New("someone other than root could change what libvirt runs from there")

// hook is the hook under hooksDir. Its temporary file is written beside
// qemu.d, not in it: libvirt runs every executable there.
func hook(hooksDir string) fsroot.Owned {
	return fsroot.Owned{Dir: hooksDir, Rel: hookRel, Marker: marker, TempDir: ".", Mode: 0o755}
}

// Install writes the hook, atomically, removing what an install that was
// killed left. It replaces only a hook of its own, and keeps the time of the
// first install.
func Install(hooksDir string, c Config) (string, error) {
	if err := trustedDir(hooksDir); err != nil {
		return Path(hooksDir), err
	}
	p, _, err := hook(hooksDir).Install(func(prev []byte) []byte { return content(prev, c) })
	return p, err
}

// trustedDir refuses a hooks directory someone other than root could change:
// libvirt runs as root everything in its qemu.d.
func trustedDir(hooksDir string) error {
	if errs := rootexec.InstallPath([]string{hooksDir, filepath.Join(hooksDir, "qemu.d")}, "", runsWhat); len(errs) > 0 {
		return fmt.Errorf("%w: %w; not installed", ErrUntrusted, errors.Join(errs...))
	}
	return nil
}

// content is the hook Install writes over prev (nil for none): a re-install
// keeps the time of the first, since libvirtd has run a hook from then on.
func content(prev []byte, c Config) []byte {
	if p, ok := ReadConfig(string(prev)); ok && p.Since != "" {
		c.Since = p.Since
	}
	if c.Since == "" {
		c.Since = time.Now().UTC().Format(time.RFC3339)
	}
	return []byte(Script(c))
}

// Preview is what Install would do, doing nothing: the hook's path, what is
// there now (nil for nothing) and what would be, or the error Install would
// give (ErrUntrusted, ErrNotOurs). The same bytes twice is an install with
// nothing to change.
func Preview(hooksDir string, c Config) (path string, prev, next []byte, err error) {
	path = Path(hooksDir)
	if err := trustedDir(hooksDir); err != nil {
		return path, nil, nil, err
	}
	prev, ours, _, err := hook(hooksDir).Read()
	if err != nil {
		return path, nil, nil, err
	}
	if prev != nil && !ours {
		return path, prev, nil, fmt.Errorf("%s exists: %w; not overwritten", path, ErrNotOurs)
	}
	return path, prev, content(prev, c), nil
}

// PreviewUninstall is what Uninstall would remove, removing nothing: the
// hook's text (nil when none is installed) and the leftovers of a killed
// install, or ErrNotOurs for a hook nestvirt did not write.
func PreviewUninstall(hooksDir string) (path string, prev []byte, leftovers []string, err error) {
	path = Path(hooksDir)
	prev, ours, _, err := hook(hooksDir).Read()
	if err != nil {
		return path, nil, nil, err
	}
	if prev != nil && !ours {
		return path, prev, nil, fmt.Errorf("%s: %w; not removed", path, ErrNotOurs)
	}
	return path, prev, Leftovers(hooksDir), nil
}

// Uninstall removes the hook if it is nestvirt's, and any leftovers of a killed
// install. It reports whether there was anything to remove.
func Uninstall(hooksDir string) (string, bool, error) { return hook(hooksDir).Uninstall() }

// Installed reads the installed hook, if any.
func Installed(hooksDir string) (script string, ours bool, info fs.FileInfo, err error) {
	b, ours, info, err := hook(hooksDir).Read()
	return string(b), ours, info, err
}

// Leftovers lists temporary files a killed install left behind.
func Leftovers(hooksDir string) []string { return hook(hooksDir).Leftovers() }

// NewConfig is the hook install would write, with what it will run and decide
// with checked as install checks them: a binary only root can change that
// runs (within probeTime), a policy file that loads (load) and a facts tree
// only root can change. A failed check is a fault.Refused.
func NewConfig(binary, mode string, failClosed bool, policyFile string, load func() error, root string, probeTime time.Duration) (Config, error) {
	bin, err := rootexec.Self(binary)
	if err != nil {
		return Config{}, err
	}
	if err := CheckBinary(bin); err != nil {
		return Config{}, fault.Refused{Err: fmt.Errorf("%w. Install nestvirt where only root can change it (the package puts it at %s) and pass --binary", err, SuggestedBinary)}
	}
	if err := RunsBinary(bin, probeTime); err != nil {
		return Config{}, fault.Refused{Err: fmt.Errorf("%w; libvirt was not pointed at it", err)}
	}
	cfg := Config{Binary: bin, Mode: mode, FailClosed: failClosed}
	if policyFile != "" {
		if err := load(); err != nil {
			return Config{}, err
		}
		abs, err := filepath.Abs(policyFile)
		if err != nil {
			return Config{}, err
		}
		// Root's hook decides with it: only root may change it.
		if err := rootexec.CheckFile(abs, "every VM start is judged by"); err != nil {
			return Config{}, fault.Refused{Err: fmt.Errorf("--policy: %w. Keep the policy where only root can change it (/etc/nestvirt, mode 0644)", err)}
		}
		cfg.Policy = abs
	}
	if root != "/" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return Config{}, err
		}
		if err := rootexec.CheckTree(abs, "every VM start is judged by"); err != nil {
			return Config{}, fault.Refused{Err: fmt.Errorf("--root: %w", err)}
		}
		cfg.Root = abs
	}
	return cfg, nil
}

// Package ansible installs nestvirt as an Ansible local fact: an executable
// nestvirt.fact in the fact directory (/etc/ansible/facts.d by default), which
// Ansible's setup module runs on every host and publishes as ansible_local.nestvirt.
package ansible

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nestvirt/nestvirt/internal/fault"
	"github.com/nestvirt/nestvirt/internal/fsroot"
	"github.com/nestvirt/nestvirt/internal/rootexec"
)

// DefaultFactPath is where Ansible's setup module looks for local facts.
const DefaultFactPath = "/etc/ansible/facts.d"

// FactName is the file: Ansible names the fact after it (ansible_local.nestvirt).
const FactName = "nestvirt.fact"

const marker = "# nestvirt: Ansible local fact (ansible_local.nestvirt)"

// SuggestedBinary is where packages install nestvirt.
const SuggestedBinary = rootexec.SuggestedBinary

// ErrNotOurs refuses to replace or remove a fact nestvirt did not install.
var ErrNotOurs = fsroot.ErrNotOurs

// fact is the fact file in factPath. Its temporary file is hidden and does not
// end in .fact, so Ansible never runs a half-written one.
func fact(factPath string) fsroot.Owned {
	return fsroot.Owned{Dir: factPath, Rel: FactName, Marker: marker, Mode: 0o755}
}

// Timeout bounds one run of the fact, in seconds: Ansible waits for it.
const Timeout = 60

// Script is the fact file. It always exits 0 and prints one JSON document:
// check's, or one in the same shape (schema check/v1) saying what failed, so a
// fleet's report shows the broken host instead of an Ansible error.
func Script(binary, root string) string {
	args := "check --format json --fail-on never"
	if root != "" && root != "/" {
		args += " --root " + rootexec.Quote(root)
	}
	fail := func(msg string) string {
		doc, _ := json.Marshal(map[string]any{"schema": "https://nestvirt.dev/schema/check/v1", "verdict": nil, "host": nil,
			"findings": []any{}, "vms": nil, "error": map[string]string{"kind": "dependency", "message": msg}})
		return rootexec.Quote(string(doc))
	}
	return `#!/bin/sh
` + marker + `
# installed by 'nestvirt facts install'; it prints nestvirt check's JSON document,
# or one in the same shape saying what failed, and always exits 0.
bin=` + rootexec.Quote(binary) + `
if [ ! -x "$bin" ]; then
	printf '%s\n' ` + fail(binary+" is missing or not executable") + `
	exit 0
fi
if command -v timeout >/dev/null 2>&1; then
	out=$(timeout -k 5 ` + fmt.Sprint(Timeout) + ` "$bin" ` + args + ` 2>/dev/null)
else
	out=$("$bin" ` + args + ` 2>/dev/null)
fi
case $out in
'{'*) printf '%s\n' "$out" ;;
*) printf '%s\n' ` + fail("nestvirt check printed no document (it crashed, or took over "+fmt.Sprint(Timeout)+" s)") + ` ;;
esac
exit 0
`
}

// Install writes the fact into factPath (created if needed), atomically, to
// run binary ("" for this nestvirt) on root ("/" for the host, or a snapshot
// tree). It replaces only a fact of its own.
//
// Ansible runs, as root, every executable *.fact in factPath: the fact runs
// only a binary root alone can change, and is installed only where root alone
// can change what is there (the directory, every one above it, and the fact
// itself). Those refusals, and a fact that is not nestvirt's, are marked
// fault.Refused.
func Install(factPath, binary, root string) (path, bin string, changed bool, err error) {
	path = fact(factPath).Path()
	if bin, err = rootexec.Self(binary); err != nil {
		return path, "", false, err
	}
	if err := rootexec.Check(bin, runsWhat); err != nil {
		return path, bin, false, fault.Refused{Err: fmt.Errorf("%w. Install nestvirt where only root can change it (the package puts it at %s) and pass --binary", err, rootexec.SuggestedBinary)}
	}
	if root != "/" {
		if root, err = filepath.Abs(root); err != nil {
			return path, bin, false, err
		}
	}
	if errs := rootexec.InstallPath([]string{factPath}, path, runsWhat); len(errs) > 0 {
		return path, bin, false, fault.Refused{Err: fmt.Errorf("%w: %w; not installed", ErrUntrusted, errors.Join(errs...))}
	}
	path, changed, err = fact(factPath).Install(func([]byte) []byte { return []byte(Script(bin, root)) })
	if errors.Is(err, ErrNotOurs) {
		err = fault.Refused{Err: err}
	}
	return path, bin, changed, err
}

// ErrUntrusted refuses to install where someone other than root could change
// what Ansible runs.
var ErrUntrusted = errors.New("someone other than root could change what Ansible runs from there")

const runsWhat = "Ansible runs as root at every fact gathering"

// Uninstall removes the fact if it is nestvirt's; removed says whether there was one.
// A fact that is not nestvirt's is refused (fault.Refused).
func Uninstall(factPath string) (path string, removed bool, err error) {
	path, removed, err = fact(factPath).Uninstall()
	if errors.Is(err, ErrNotOurs) {
		err = fault.Refused{Err: err}
	}
	return path, removed, err
}

// Package nfd writes a check document as a Node Feature Discovery feature file:
// labels under nestvirt.dev/, values as Kubernetes label values, an expiry.
package nfd

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Prefix is the namespace of nestvirt's node labels. nfd-master accepts it
// unless it is denied (-deny-label-ns); -extra-label-ns=nestvirt.dev allows it
// back.
const Prefix = "nestvirt.dev/"

// Lifetime is how long the labels hold without a fresh check: the file says
// so (# +expiry-time), so a node whose timer stopped loses stale labels.
const Lifetime = 2 * time.Hour

// labelValue is Kubernetes' rule for a label value: at most 63 characters,
// alphanumerics, '-', '_' and '.', beginning and ending with an alphanumeric.
var labelValue = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`) })

// nfdValue makes a fact a label value: unknown (nil, or what the rule refuses)
// is "unknown".
func nfdValue(s *string) string {
	if s == nil || *s == "" || len(*s) > 63 || !labelValue().MatchString(*s) {
		return "unknown"
	}
	return *s
}

func nfdBool(b *bool) string {
	if b == nil {
		return "unknown"
	}
	return strconv.FormatBool(*b)
}

// Check writes a check document as a Node Feature Discovery feature file, for
// /etc/kubernetes/node-feature-discovery/features.d/ (written with --output:
// a dot file renamed into place, which NFD ignores until then).
func Check(w io.Writer, d doc.CheckDoc, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# nestvirt check, %s (%s)\n", now.UTC().Format(time.RFC3339), d.Schema)
	fmt.Fprintf(&b, "# +expiry-time=%s\n", now.Add(Lifetime).UTC().Format(time.RFC3339))
	label := func(name, value string) { fmt.Fprintf(&b, "%s%s=%s\n", Prefix, name, value) }
	label("check-ok", strconv.FormatBool(d.Error == nil && d.Host != nil))
	verdict := "unknown"
	if d.Verdict != nil {
		verdict = d.Verdict.String()
	}
	label("verdict", verdict)
	if h := d.Host; h != nil {
		v := h.Virtualization
		label("kvm", nfdBool(h.KVM.Available))
		label("nested", nfdBool(h.KVM.Nested))
		label("nested-next-load", nfdBool(h.KVM.NestedNext))
		label("kvm-module", nfdValue(h.KVM.Module))
		label("virt-extension", nfdValue(h.VirtExt))
		label("vm", nfdValue(v.VM))
		label("hypervisor", nfdValue(v.Hypervisor))
		if v.LevelExact && v.Level != nil {
			label("level", strconv.Itoa(*v.Level))
		} else {
			label("level", "unknown")
		}
		if v.LevelMin != nil {
			label("level-min", strconv.Itoa(*v.LevelMin))
		} else {
			label("level-min", "unknown")
		}
		label("amd-migration-blocked", amdMigrationBlocked(d, h))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// amdMigrationBlocked says whether live migration off or onto this node does
// not work under the policy's AMD limitation (host-amd-migration, decided, or
// undetermined only because whether the host migrates is not stated): a
// scheduler keeps migratable workloads off it.
func amdMigrationBlocked(d doc.CheckDoc, h *probe.Facts) string {
	for _, f := range d.Findings {
		if f.Rule != "host-amd-migration" {
			continue
		}
		if !f.Undetermined || (len(f.Unknown) == 1 && f.Unknown[0] == "host.migration") {
			return "true"
		}
		return "unknown"
	}
	switch {
	case h.CPUVendor != nil && *h.CPUVendor != "amd":
		return "false" // the limitation is AMD's
	case h.KVM.Nested == nil || h.CPUVendor == nil:
		return "unknown"
	}
	return "false"
}

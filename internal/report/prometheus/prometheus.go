// Package prometheus writes a check document in Prometheus' text exposition
// format, for node_exporter's textfile collector: its naming, units and unknowns
// as Prometheus' conventions have them (docs/METRICS.md lists the series).
package prometheus

import (
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// Check writes a check document in Prometheus' text exposition format,
// for node_exporter's textfile collector (written with --output, atomically).
// Names follow Prometheus' naming and instrumentation guidelines: gauges in
// base units; constant-1 series end in _info and carry only labels that name
// what they describe (the verdict, which changes, is a gauge of its own, not a
// label); severity (how bad) and depth (how deep) have distinct names. An
// unknown fact is an absent series, never 0 or NaN: `nestvirt_kvm_nested == 0`
// matches only hosts known to have nesting off, and absent() finds the
// unknowns. docs/METRICS.md lists every series with alert rules.
func Check(w io.Writer, d doc.CheckDoc, now time.Time, version string) error {
	var fams []*dto.MetricFamily
	gauge := func(name, help string, ms ...*dto.Metric) {
		if len(ms) == 0 {
			return
		}
		fams = append(fams, &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum(), Metric: ms})
	}
	sample := func(v float64, labels ...string) *dto.Metric {
		m := &dto.Metric{Gauge: &dto.Gauge{Value: proto.Float64(v)}}
		for i := 0; i+1 < len(labels); i += 2 {
			// A label value is UTF-8 (the exposition format says so, and
			// promtool and the textfile collector drop a file that is not):
			// bytes from a machine's files that are not are replaced, as the
			// JSON renderer does.
			v := strings.ToValidUTF8(labels[i+1], "\uFFFD")
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(labels[i]), Value: proto.String(v)})
		}
		return m
	}
	// known is a sample only for a known value: an unknown is no series.
	known := func(v *float64) []*dto.Metric {
		if v == nil {
			return nil
		}
		return []*dto.Metric{sample(*v)}
	}

	gauge("nestvirt_build_info", "The nestvirt that wrote these metrics.", sample(1, "version", version))
	gauge("nestvirt_check_timestamp_seconds", "When the check ran, in seconds since the Unix epoch.", sample(float64(now.UnixMilli())/1000))
	gauge("nestvirt_check_success", "Whether the check read and judged this machine (1), or failed (0: see nestvirt_check_error_info).", sample(boolFloat(d.Error == nil && d.Host != nil)))
	if d.Error != nil {
		gauge("nestvirt_check_error_info", "Why the check failed: kind is input (a flag, a file, a snapshot), dependency (libvirt, permissions) or refused.",
			sample(1, "kind", string(d.Error.Kind), "message", d.Error.Message))
	}
	if d.Verdict != nil {
		gauge("nestvirt_verdict_severity", "How bad the verdict is, best to worst: 0 supported, 1 tech-preview, 2 unsupported, 3 untested, 4 not-expected-to-work, 5 does-not-work; absent when nothing was judged.",
			sample(float64(*d.Verdict)))
	}
	if h := d.Host; h != nil {
		v := h.Virtualization
		gauge("nestvirt_host_info", "Where this machine stands and what it is, as labels; an empty value is unknown.",
			sample(1, "vm", probe.Str(v.VM), "hypervisor", probe.Str(v.Hypervisor), "container", probe.Str(v.Container),
				"cloud", probe.Str(v.Cloud), "arch", probe.Str(h.Arch), "cpu_vendor", probe.Str(h.CPUVendor), "virt_extension", probe.Str(h.VirtExt),
				"kvm_module", probe.Str(h.KVM.Module), "os", osLabel(h.OS)))
		gauge("nestvirt_kvm_available", "Whether KVM is available (/dev/kvm): 1 or 0; absent when unknown.", known(boolOf(h.KVM.Available))...)
		gauge("nestvirt_kvm_nested", "Whether nesting is on in the loaded KVM module now: 1 or 0; absent when unknown or not applicable.", known(boolOf(h.KVM.Nested))...)
		gauge("nestvirt_kvm_nested_next_load", "Whether nesting will be on at the KVM module's next load (modprobe.d, kernel command line, default): 1 or 0; absent when unknown.", known(boolOf(h.KVM.NestedNext))...)
		gauge("nestvirt_nesting_depth", "How deep this machine runs, when known exactly: 0 bare metal, 1 a guest of the L0 (IBM Z reports the whole stack); absent otherwise.", known(intOf(v.Level))...)
		gauge("nestvirt_nesting_depth_min", "The least depth the evidence proves (1 for any guest); absent when unknown.", known(intOf(v.LevelMin))...)
	}
	var fs []*dto.Metric
	for _, f := range d.Findings {
		fs = append(fs, sample(1, "rule", f.Rule, "level", f.Level.String(), "undetermined", strconv.FormatBool(f.Undetermined), "informational", strconv.FormatBool(f.Informational)))
	}
	gauge("nestvirt_finding_info", "One series per finding of the policy's host rules; an undetermined finding rests on unknown facts and changes no verdict.", fs...)
	if d.VMs != nil {
		var vs []*dto.Metric
		for _, v := range d.VMs.VMs {
			vs = append(vs, sample(float64(v.Verdict), "domain", v.Name))
		}
		gauge("nestvirt_vm_verdict_severity", "How bad each libvirt domain's verdict is (as nestvirt_verdict_severity).", vs...)
	}
	sort.SliceStable(fams, func(i, j int) bool { return fams[i].GetName() < fams[j].GetName() })
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return err
		}
	}
	return nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func boolOf(b *bool) *float64 {
	if b == nil {
		return nil
	}
	v := boolFloat(*b)
	return &v
}

func intOf(i *int) *float64 {
	if i == nil {
		return nil
	}
	v := float64(*i)
	return &v
}

func osLabel(o *probe.OSFacts) string {
	if o == nil {
		return ""
	}
	return o.ID + o.Version
}

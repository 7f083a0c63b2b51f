package report

import (
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
)

// CheckPrometheus writes a check document in Prometheus' text exposition format,
// for node_exporter's textfile collector (written with --output, atomically).
// Names follow the exporter conventions: gauges, base units, _info metrics with
// value 1 carrying labels. An unknown fact is NaN (a gauge) or an empty label
// value, never 0: `nestvirt_kvm_nested == 0` matches only hosts known to have
// nesting off.
func CheckPrometheus(w io.Writer, d doc.CheckDoc, now time.Time, version string) error {
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

	gauge("nestvirt_build_info", "The nestvirt that wrote these metrics.", sample(1, "version", version))
	gauge("nestvirt_check_timestamp_seconds", "When the check ran, in seconds since the Unix epoch.", sample(float64(now.UnixMilli())/1000))
	gauge("nestvirt_check_success", "Whether the check read and judged this machine (1), or failed (0: see nestvirt_check_error_info).", sample(boolFloat(d.Error == nil && d.Host != nil)))
	if d.Error != nil {
		gauge("nestvirt_check_error_info", "Why the check failed: input (a flag, a file, a snapshot), dependency (libvirt, permissions) or refused.",
			sample(1, "kind", string(d.Error.Kind), "message", d.Error.Message))
	}
	if d.Verdict != nil {
		gauge("nestvirt_verdict_level", "The verdict as a number, best to worst: 0 supported, 1 tech-preview, 2 unsupported, 3 untested, 4 not-expected-to-work, 5 does-not-work.",
			sample(float64(*d.Verdict)))
	} else {
		gauge("nestvirt_verdict_level", "The verdict as a number, best to worst: 0 supported, 1 tech-preview, 2 unsupported, 3 untested, 4 not-expected-to-work, 5 does-not-work.",
			sample(math.NaN()))
	}
	if h := d.Host; h != nil {
		v := h.Virtualization
		gauge("nestvirt_host_info", "Where this machine stands and the verdict, as labels (an empty value is unknown).",
			sample(1, "verdict", levelLabel(d.Verdict), "vm", probe.Str(v.VM), "hypervisor", probe.Str(v.Hypervisor), "container", probe.Str(v.Container),
				"cloud", probe.Str(v.Cloud), "arch", probe.Str(h.Arch), "cpu_vendor", probe.Str(h.CPUVendor), "virt_extension", probe.Str(h.VirtExt),
				"kvm_module", probe.Str(h.KVM.Module), "os", osLabel(h.OS)))
		gauge("nestvirt_kvm_available", "Whether KVM is available (/dev/kvm); NaN when unknown.", sample(triState(h.KVM.Available)))
		gauge("nestvirt_kvm_nested", "Whether nesting is on in the loaded KVM module now; NaN when unknown or not applicable.", sample(triState(h.KVM.Nested)))
		gauge("nestvirt_kvm_nested_next_load", "Whether nesting will be on at the KVM module's next load (modprobe.d, kernel command line, default); NaN when unknown.", sample(triState(h.KVM.NestedNext)))
		gauge("nestvirt_level", "This machine's depth when it is known exactly (0 bare metal; IBM Z's count); NaN otherwise.", sample(intOrNaN(v.Level)))
		gauge("nestvirt_level_min", "The depth the evidence proves (1 for any guest); NaN when unknown.", sample(intOrNaN(v.LevelMin)))
		gauge("nestvirt_level_exact", "Whether nestvirt_level is known (1) or only nestvirt_level_min (0).", sample(boolFloat(v.LevelExact)))
	}
	var fs []*dto.Metric
	for _, f := range d.Findings {
		fs = append(fs, sample(1, "rule", f.Rule, "level", f.Level.String(), "undetermined", strconv.FormatBool(f.Undetermined), "informational", strconv.FormatBool(f.Informational)))
	}
	gauge("nestvirt_finding", "One series per finding of the policy's host rules; undetermined findings rest on unknown facts and change no verdict.", fs...)
	if d.VMs != nil {
		var vs []*dto.Metric
		for _, v := range d.VMs.VMs {
			vs = append(vs, sample(float64(v.Verdict), "domain", v.Name))
		}
		gauge("nestvirt_vm_verdict_level", "Each libvirt domain's verdict as a number (as nestvirt_verdict_level).", vs...)
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

func triState(b *bool) float64 {
	if b == nil {
		return math.NaN()
	}
	return boolFloat(*b)
}

func intOrNaN(i *int) float64 {
	if i == nil {
		return math.NaN()
	}
	return float64(*i)
}

func levelLabel(l *policy.Level) string {
	if l == nil {
		return ""
	}
	return l.String()
}

func osLabel(o *probe.OSFacts) string {
	if o == nil {
		return ""
	}
	return o.ID + o.Version
}

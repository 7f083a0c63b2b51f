package cli

import (
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/nestvirt/nestvirt/internal/libvirt"
	"github.com/nestvirt/nestvirt/internal/policy"
	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/report"
)

type vmsOptions struct {
	connect string
	root    string
	verdictFlags
}

func addConnectFlag(cmd *cobra.Command, uri *string) {
	cmd.Flags().StringVarP(uri, "connect", "c", libvirt.DefaultURI, "libvirt URI, as virsh -c (qemu:///system, test:///default, qemu+tcp://host/system)")
}

func (a *app) vmsCmd() *cobra.Command {
	o := vmsOptions{}
	cmd := &cobra.Command{
		Use:   "vms",
		Short: "Judge every VM of a libvirt host: does it expose virtualization, which OS, what it runs",
		Long: `Judge every domain of a libvirt host, running or only defined: its state, arch,
CPU mode and whether hardware virtualization reaches it (host-passthrough and
maximum: when this host has it; host-model: from the host's domain capabilities;
custom: from the vmx/svm/sie feature policy), its OS (libosinfo metadata, or what
'nestvirt annotate --os' recorded), huge-page backing, what it runs inside
('nestvirt annotate'), and each chain's verdict with this host's facts as the L0.
Read-only: the daemon's read-only socket is used where there is one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runVMs(o) },
	}
	addConnectFlag(cmd, &o.connect)
	cmd.Flags().StringVar(&o.root, "root", "/", "read the host's facts from this snapshot instead of /")
	o.verdictFlags.add(cmd)
	return cmd
}

// hostFacts probes the host (or a snapshot of it) for the L0 of libvirt chains.
func hostFacts(root string) (probe.Facts, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return probe.Facts{}, inputErrorf("--root %s: not a directory", root)
	}
	return probe.ProbeRoot(probe.NewRoot(root)), nil
}

func (a *app) audit(uri, root string) (libvirt.Audit, probe.Facts, *policy.Policy, error) {
	p, err := a.policy()
	if err != nil {
		return libvirt.Audit{}, probe.Facts{}, nil, err
	}
	facts, err := hostFacts(root)
	if err != nil {
		return libvirt.Audit{}, probe.Facts{}, nil, err
	}
	conn, err := libvirt.Connect(uri, true)
	if err != nil {
		return libvirt.Audit{}, facts, p, inputError{err}
	}
	defer conn.Close()
	res, err := libvirt.AuditAll(conn, p, facts, 4*runtime.GOMAXPROCS(0))
	if err != nil {
		return libvirt.Audit{}, facts, p, inputError{err}
	}
	return res, facts, p, nil
}

func (a *app) runVMs(o vmsOptions) error {
	style, _, err := a.start(o.verdictFlags)
	if err != nil {
		return err
	}
	res, facts, _, err := a.audit(o.connect, o.root)
	if err != nil {
		return err
	}
	if o.format == "json" {
		err = report.JSON(a.stdout, report.VMsDoc{Verdict: res.Verdict, Host: facts, URI: res.URI, Notes: res.Notes, VMs: res.VMs})
	} else {
		err = report.VMsText(a.stdout, res, style)
	}
	if err != nil {
		return err
	}
	return failOn(res.Verdict, o.failOn)
}

// probe0 reads this machine's facts, for defaults such as the CPU vendor.
func probe0() probe.Facts { return probe.ProbeRoot(probe.NewRoot("/")) }

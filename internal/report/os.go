package report

import (
	"cmp"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nestvirt/nestvirt/internal/osid"
)

// OSTable lists OS names as 'nestvirt os list' shows them: name, family,
// version, kind and where nestvirt knows it from, aligned.
func OSTable(w io.Writer, known []osid.Listed) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFAMILY\tVERSION\tKIND\tFROM")
	for _, o := range known {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.ID, o.Family, cmp.Or(o.Version, "-"), o.Kind, o.From)
	}
	return tw.Flush()
}

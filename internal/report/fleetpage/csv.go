package fleetpage

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"time"

	"github.com/nestvirt/nestvirt/internal/fleet"
)

// csvHeader names the columns of the fleet's CSV: one row per machine, as the
// HTML report's table (and its "Download CSV" button) has them.
var csvHeader = []string{"host", "machine_id", "verdict", "position", "os", "nested", "kvm", "worst_finding", "checked_at", "sources", "error"}

// csvRecord is a host's row. Unknown values are empty.
func csvRecord(h *fleet.Host) []string {
	checked := ""
	if !h.CheckedAt.IsZero() {
		checked = h.CheckedAt.UTC().Format(time.RFC3339)
	}
	var files []string
	for _, s := range h.Sources {
		files = append(files, s.File)
	}
	rec := []string{h.Name, h.ID, h.Verdict, position(h), h.OS, h.Nested, h.KVM, h.WorstText(), checked, strings.Join(files, " "), h.Error}
	for i, c := range rec {
		rec[i] = inert(c)
	}
	return rec
}

// inert keeps a spreadsheet from reading a cell as a formula: host names and
// messages are other machines' words (OWASP, "CSV Injection": a cell that
// begins with = + - @ tab or CR is prefixed with a quote).
func inert(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

// csvLine is one record as encoding/csv writes it (RFC 4180: quoted where it
// must be, CRLF-free: a bare newline ends it).
func csvLine(rec []string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(rec)
	w.Flush()
	return b.String()
}

// CSV writes the fleet's hosts as CSV, in the report's order.
func CSV(w io.Writer, f *fleet.Fleet) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, h := range f.Hosts {
		if err := cw.Write(csvRecord(h)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

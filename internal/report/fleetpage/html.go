// Package fleetpage writes a fleet's report: one self-contained HTML page, and
// its rows as CSV, from the documents internal/fleet read back.
package fleetpage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nestvirt/nestvirt/internal/doc"
	"github.com/nestvirt/nestvirt/internal/fleet"
	"github.com/nestvirt/nestvirt/internal/policy"
)

//go:embed templates/fleet.html.tmpl
var templates embed.FS

// fleetPage is the fleet report: one self-contained HTML page (CSS and script
// inline, nothing fetched), readable without its script and printable. Every
// value from a document is escaped by html/template: host names and messages
// are other machines' words. It is parsed on first use: every other command,
// the guard hook among them, starts without it.
var fleetPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("fleet.html.tmpl").Funcs(template.FuncMap{
		// A verdict is a level's name (a host's, "" when not judged) or a
		// policy.Level (a finding's, a VM's).
		"verdictName": func(v any) string {
			if s := fmt.Sprint(v); s != "" {
				return s
			}
			return "not judged"
		},
		"class": func(v any) string {
			if s := fmt.Sprint(v); s != "" {
				return "c-" + s
			}
			return "c-none"
		},
		"rank":     func(v any) int { return fleet.Rank(fmt.Sprint(v)) },
		"position": position,
		"rules": func(h *fleet.Host) string {
			var ids []string
			for _, f := range h.Findings {
				ids = append(ids, f.Rule)
			}
			return strings.Join(ids, " ")
		},
		"deref": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
		"yesno": func(b *bool) string {
			switch {
			case b == nil:
				return "unknown"
			case *b:
				return "yes"
			}
			return "no"
		},
		"sub":      func(a, b int) int { return a - b },
		"vmReason": vmReason,
		"chainFindings": func(c policy.ChainResult) []policy.Finding {
			var out []policy.Finding
			for _, f := range c.Findings {
				if !f.Informational {
					out = append(out, f)
				}
			}
			return out
		},
		"join": strings.Join,
		"unix": func(t time.Time) int64 {
			if t.IsZero() {
				return -1
			}
			return t.Unix()
		},
		"plural": func(n int, noun string) string {
			if n == 1 {
				return "1 " + noun
			}
			if strings.HasSuffix(noun, "y") {
				noun = strings.TrimSuffix(noun, "y") + "ie"
			}
			return fmt.Sprintf("%d %ss", n, noun)
		},
	}).ParseFS(templates, "templates/fleet.html.tmpl"))
})

// The page's Content-Security-Policy lets the browser run its one script
// alone, named by its hash (a host name that smuggled in markup runs nothing).
// html/template rewrites the script as it renders it (it drops its comments), so
// the hash is of the script as rendered: a placeholder, replaced once known.
// Styles may be inline: the counts bar and column widths are style attributes,
// and html/template escapes every value in them.
const hashPlaceholder = "sha256-NESTVIRT-SCRIPT-HASH"

func scriptHashed(page []byte) []byte {
	i := bytes.Index(page, []byte("<script>"))
	j := bytes.Index(page, []byte("</script>"))
	if i < 0 || j < i {
		return page
	}
	sum := sha256.Sum256(page[i+len("<script>") : j])
	return bytes.Replace(page, []byte(hashPlaceholder), []byte("sha256-"+base64.StdEncoding.EncodeToString(sum[:])), 1)
}

// position says where a host stands: "bare metal (L0)", "kvm guest, level ≥ 1".
func position(h *fleet.Host) string {
	switch {
	case h.VM == "none":
		return "bare metal (L0)"
	case h.VM == "" && h.Level == "":
		return "unknown"
	}
	what := h.VM
	if h.Hypervisor != "" && h.Hypervisor != h.VM {
		what += " (" + h.Hypervisor + ")"
	}
	if what == "" {
		what = "a guest"
	}
	if h.Level != "" {
		return what + ", level " + h.Level
	}
	return what
}

// vmReason is why a VM has its verdict: the worst decided finding of its
// chains, as "level rule: message"; "" when there is none to name.
func vmReason(v doc.VMEntry) string {
	var w *policy.Finding
	for _, c := range v.Chains {
		for i := range c.Findings {
			f := &c.Findings[i]
			if f.Informational || f.Undetermined {
				continue
			}
			if w == nil || f.Level > w.Level {
				w = f
			}
		}
	}
	if w == nil {
		return ""
	}
	return w.Level.String() + " " + w.Rule + ": " + w.Message
}

// age says how long before now t was, in the largest whole unit.
func age(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// durationText writes a duration as people say it: "24 h", "7 days".
func durationText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	return d.String()
}

// checkedAt is a row's "checked at" cell: the time and its age, and whether
// it is older than staleAfter (a report of stale facts must not look fresh).
type checkedAt struct {
	Text, Age string
	Stale     bool
	Known     bool
}

func checkedOf(h *fleet.Host, now time.Time, staleAfter time.Duration) checkedAt {
	if h.CheckedAt.IsZero() {
		return checkedAt{Text: "unknown"}
	}
	return checkedAt{Text: h.CheckedAt.UTC().Format("2006-01-02 15:04 UTC"), Age: age(h.CheckedAt, now), Stale: now.Sub(h.CheckedAt) > staleAfter, Known: true}
}

// sourceText names one document of a row: its kind, how it was read, when,
// and its file's name (the cell's title, and the CSV, hold the whole path).
func sourceText(s fleet.Source) string {
	t := s.Kind
	if s.Origin != "" {
		t += ", " + s.Origin
	}
	if !s.CheckedAt.IsZero() {
		t += ", " + s.CheckedAt.UTC().Format("2006-01-02 15:04")
	}
	return t + ": " + filepath.Base(s.File)
}

// chunkRows is how many hosts' rows share a table the browser lays out only when
// it comes into view. Small chunks let the parser yield often with little to lay
// out: 1,000 hosts opened in 0.29 s with 50, 0.4–1.3 s with 250 or 1,000
// (headless Chromium on a CI machine; tools/browser).
const chunkRows = 50

// HTML writes the fleet report; a row whose facts are older than
// staleAfter is marked stale.
func HTML(w io.Writer, f *fleet.Fleet, policyName, version string, written time.Time, staleAfter time.Duration) error {
	withVMs := false
	for _, h := range f.Hosts {
		if len(h.VMs) > 0 {
			withVMs = true
		}
	}
	type row struct {
		I       int
		H       *fleet.Host
		Checked checkedAt
		Sources []string
		Files   []string
		CSV     string
	}
	var chunks [][]row
	stale := 0
	for i, h := range f.Hosts {
		if i%chunkRows == 0 {
			chunks = append(chunks, nil)
		}
		r := row{I: i, H: h, Checked: checkedOf(h, written, staleAfter), CSV: csvLine(csvRecord(h))}
		for _, s := range h.Sources {
			r.Sources = append(r.Sources, sourceText(s))
			r.Files = append(r.Files, s.File)
		}
		if r.Checked.Stale {
			stale++
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], r)
	}
	var page bytes.Buffer
	err := fleetPage().Execute(&page, map[string]any{
		"ScriptHash": hashPlaceholder,
		"Fleet":      f, "Counts": f.Counts(), "Rules": f.Rules(), "WithVMs": withVMs, "Chunks": chunks,
		"Policy": policyName, "Version": version, "Written": written.UTC().Format("2006-01-02 15:04 UTC"),
		"Stale": stale, "StaleAfter": durationText(staleAfter), "CSVHeader": csvLine(csvHeader),
	})
	if err != nil {
		return err
	}
	_, err = w.Write(scriptHashed(page.Bytes()))
	return err
}

package report

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/nestvirt/nestvirt/internal/fleet"
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
		"sub": func(a, b int) int { return a - b },
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

// chunkRows is how many hosts' rows share a table the browser lays out only when
// it comes into view.
const chunkRows = 250

// FleetHTML writes the fleet report.
func FleetHTML(w io.Writer, f *fleet.Fleet, policy, version string, written time.Time) error {
	withVMs := false
	for _, h := range f.Hosts {
		if len(h.VMs) > 0 {
			withVMs = true
		}
	}
	type row struct {
		I int
		H *fleet.Host
	}
	var chunks [][]row
	for i, h := range f.Hosts {
		if i%chunkRows == 0 {
			chunks = append(chunks, nil)
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], row{i, h})
	}
	var page bytes.Buffer
	err := fleetPage().Execute(&page, map[string]any{
		"ScriptHash": hashPlaceholder,
		"Fleet":      f, "Counts": f.Counts(), "Rules": f.Rules(), "WithVMs": withVMs, "Chunks": chunks,
		"Policy": policy, "Version": version, "Written": written.UTC().Format("2006-01-02 15:04 UTC"),
	})
	if err != nil {
		return err
	}
	_, err = w.Write(scriptHashed(page.Bytes()))
	return err
}

package windows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/nestvirt/nestvirt/internal/probe"
	"github.com/nestvirt/nestvirt/internal/probe/snapshot"
)

// recorder is a Source that keeps what check read, so a snapshot holds
// exactly that: the registry values read (no others: a registry export of whole
// keys would carry what nobody asked for), the programs' outputs, and of
// .wslconfig only the setting check reads.
type recorder struct {
	src    Source
	values map[string]map[string]RegValue // key -> value name -> value
	keys   map[string]bool                // keys that exist
	files  map[string][]byte              // snapshot path -> data
	states map[string]string              // snapshot path -> file, absent, unreadable
}

func newRecorder(src Source) *recorder {
	return &recorder{src: src, values: map[string]map[string]RegValue{}, keys: map[string]bool{},
		files: map[string][]byte{}, states: map[string]string{}}
}

func (r *recorder) RegValue(key, name string) (RegValue, error) {
	v, err := r.src.RegValue(key, name)
	if err == nil {
		if r.values[key] == nil {
			r.values[key] = map[string]RegValue{}
		}
		kept := v
		if key == regCryptography && name == "MachineGuid" {
			// The snapshot keeps the derived ID, never the machine's own.
			kept = RegValue{}
			if id, ok := probe.MachineIDOf(v.S); ok {
				kept.S = probe.DerivedIDPrefix + id
			}
		}
		r.values[key][name] = kept
		r.keys[key] = true
	}
	return v, err
}

func (r *recorder) RegSubkeys(key string) ([]string, error) {
	subs, err := r.src.RegSubkeys(key)
	if err == nil {
		r.keys[key] = true
		for _, s := range subs {
			r.keys[key+`\`+s] = true
		}
	}
	return subs, err
}

// keep records a file's outcome: its data, absent, or unreadable.
func (r *recorder) keep(rel string, data []byte, err error) {
	switch {
	case err == nil:
		r.files[rel], r.states[rel] = data, "file"
	case errors.Is(err, fs.ErrNotExist):
		r.states[rel] = "absent"
	default:
		r.states[rel] = "unreadable"
	}
}

func (r *recorder) CIM(ctx context.Context) ([]byte, error) {
	data, err := r.src.CIM(ctx)
	r.keep(probe.WindowsCIM, data, err)
	return data, err
}

func (r *recorder) WSLStatus(ctx context.Context) ([]byte, error) {
	data, err := r.src.WSLStatus(ctx)
	r.keep(probe.WindowsWSLStatus, data, err)
	return data, err
}

func (r *recorder) WSLConfig() ([]byte, error) {
	data, err := r.src.WSLConfig()
	if err == nil {
		// Only [wsl2] nestedVirtualization, on its own line number (check names
		// it); the other lines, the user's settings, are blanked.
		lines := []string{"# nestvirt snapshot: only the setting check reads"}
		if v, _ := parseWSLConfig(data); v.set {
			val := "unreadable"
			if v.value != nil {
				val = fmt.Sprint(*v.value)
			}
			lines = make([]string, v.line)
			lines[0] = "# nestvirt snapshot: only the setting check reads; other lines blanked"
			lines[v.line-2] = "[wsl2]"
			lines[v.line-1] = "nestedVirtualization=" + val
		}
		r.keep(probe.WindowsWSLConfig, []byte(strings.Join(lines, "\n")+"\n"), nil)
	} else {
		r.keep(probe.WindowsWSLConfig, nil, err)
	}
	return data, err
}

func (r *recorder) HostConfig() ([]byte, string, error) {
	data, name, err := r.src.HostConfig()
	r.keep(probe.WindowsHostConfig, data, err)
	return data, name, err
}

func (r *recorder) Live() bool { return r.src.Live() }

var longHives = map[string]string{"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER"}

// regExport writes the recorded values as `reg export` does: UTF-16LE with a
// BOM, CRLF, keys in order.
func (r *recorder) regExport() []byte {
	keys := make([]string, 0, len(r.keys))
	for k := range r.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\r\n\r\n")
	for _, k := range keys {
		hive, rest, _ := strings.Cut(k, `\`)
		if long, ok := longHives[hive]; ok {
			hive = long
		}
		fmt.Fprintf(&b, "[%s\\%s]\r\n", hive, rest)
		names := make([]string, 0, len(r.values[k]))
		for n := range r.values[k] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			v := r.values[k][n]
			name := `"` + regEscape(n) + `"`
			if n == "" {
				name = "@"
			}
			switch {
			case !v.IsNum:
				fmt.Fprintf(&b, "%s=\"%s\"\r\n", name, regEscape(v.S))
			case v.N <= 0xffffffff:
				fmt.Fprintf(&b, "%s=dword:%08x\r\n", name, v.N)
			default:
				var hexs []string
				for i := 0; i < 8; i++ {
					hexs = append(hexs, fmt.Sprintf("%02x", byte(v.N>>(8*i))))
				}
				fmt.Fprintf(&b, "%s=hex(b):%s\r\n", name, strings.Join(hexs, ","))
			}
		}
		b.WriteString("\r\n")
	}
	out := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(b.String())) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func regEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// Snapshot probes Windows through a recorder and lays out what it
// read as a Windows snapshot, which check --root replays on any system.
func Snapshot(src Source, version string, now time.Time) (*snapshot.Files, error) {
	rec := newRecorder(src)
	cpu := probe.ReadLive()
	facts, _ := Probe(rec, cpu)
	s := &snapshot.Files{Facts: facts, Manifest: probe.Manifest{Format: 1, Nestvirt: version, Created: now.UTC().Format(time.RFC3339),
		Paths: map[string]string{}, Filtered: map[string]string{
			probe.WindowsRegistry:  "only the values check reads",
			probe.WindowsWSLConfig: "only [wsl2] nestedVirtualization",
		}}}
	s.Files = append(s.Files, snapshot.File{Path: probe.WindowsRegistry, Data: rec.regExport(), Mode: 0o644})
	s.Manifest.Paths[probe.WindowsDir] = "dir"
	s.Manifest.Paths[probe.WindowsRegistry] = "file"
	rels := make([]string, 0, len(rec.states))
	for rel := range rec.states {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		s.Manifest.Paths[rel] = rec.states[rel]
		if rec.states[rel] == "file" {
			s.Files = append(s.Files, snapshot.File{Path: rel, Data: rec.files[rel], Mode: 0o644})
		}
		if rec.states[rel] == "unreadable" {
			s.Notes = append(s.Notes, rel+": could not be read; recorded as unreadable")
		}
	}
	if len(cpu) > 0 {
		s.Files = append(s.Files, snapshot.File{Path: probe.CPUIDFile, Data: cpu.Text(), Mode: 0o644})
		s.Manifest.Paths[probe.CPUIDFile] = "file"
	}
	man, err := json.MarshalIndent(s.Manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	s.Files = append(s.Files, snapshot.File{Path: probe.ManifestFile, Data: append(man, '\n'), Mode: 0o644})
	return s, nil
}

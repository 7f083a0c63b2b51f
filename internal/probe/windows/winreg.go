package windows

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// MaxRegFile bounds a registry export check reads: a snapshot exports only the
// few keys check reads, a few kilobytes.
const MaxRegFile = 8 << 20

// Registry is a registry export (`reg export`, regedit /E): keys by their
// lower-cased short path (HKLM\SOFTWARE\...), each with its values by lower-cased
// name. Windows' registry is case-insensitive; so is this.
type Registry struct {
	keys map[string]map[string]RegValue
}

var hiveNames = map[string]string{
	"HKEY_LOCAL_MACHINE": "HKLM", "HKEY_CURRENT_USER": "HKCU", "HKEY_USERS": "HKU",
	"HKEY_CLASSES_ROOT": "HKCR", "HKEY_CURRENT_CONFIG": "HKCC",
}

func regKey(k string) string {
	k = strings.Trim(strings.TrimSpace(k), `\`)
	hive, rest, _ := strings.Cut(k, `\`)
	if short, ok := hiveNames[strings.ToUpper(hive)]; ok {
		hive = short
	}
	if rest == "" {
		return strings.ToLower(hive)
	}
	return strings.ToLower(hive + `\` + rest)
}

// ParseRegFile reads a .reg export (UTF-16LE, as Windows writes it, or UTF-8):
// strings, DWORDs, QWORDs and expandable strings. Values of other types are
// skipped; lines it cannot read are returned as notes (at most ten) and never stop
// the parse. Only a file that is not a registry export is an error.
func ParseRegFile(data []byte) (*Registry, []string, error) {
	if len(data) > MaxRegFile {
		return nil, nil, fmt.Errorf("%d bytes; the limit is %d", len(data), MaxRegFile)
	}
	text := bytes.TrimPrefix(decodeText(data), []byte("\ufeff"))
	reg := &Registry{keys: map[string]map[string]RegValue{}}
	var notes []string
	bad := func(n int, format string, args ...any) {
		if len(notes) < 10 {
			notes = append(notes, fmt.Sprintf("line %d: %s", n, fmt.Sprintf(format, args...)))
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), MaxRegFile)
	var cur map[string]RegValue
	header := false
	var pending strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if pending.Len() > 0 {
			// A hex value continued from the line before.
			pending.WriteString(strings.TrimSpace(line))
		} else {
			pending.WriteString(line)
			start = n
		}
		if strings.HasSuffix(line, `\`) && !strings.HasPrefix(strings.TrimSpace(line), "[") && isHexLine(pending.String()) {
			s := pending.String()
			pending.Reset()
			pending.WriteString(strings.TrimSuffix(s, `\`))
			continue
		}
		line = strings.TrimSpace(pending.String())
		pending.Reset()
		switch {
		case line == "" || strings.HasPrefix(line, ";"):
		case !header:
			if line != "Windows Registry Editor Version 5.00" && line != "REGEDIT4" {
				return nil, notes, fmt.Errorf("line %d: not a registry export (it starts %q)", start, truncate(line, 60))
			}
			header = true
		case strings.HasPrefix(line, "[-"):
			cur = nil // a deletion: nothing to read
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") {
				bad(start, "a key without ']'")
				cur = nil
				continue
			}
			k := regKey(line[1 : len(line)-1])
			if cur = reg.keys[k]; cur == nil {
				cur = map[string]RegValue{}
				reg.keys[k] = cur
			}
		case cur == nil:
			bad(start, "a value outside any key")
		default:
			name, v, err := parseRegValue(line)
			if err != nil {
				bad(start, "%s", err)
				continue
			}
			if v != nil {
				cur[strings.ToLower(name)] = *v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, notes, err
	}
	if !header {
		return nil, notes, fmt.Errorf("empty: not a registry export")
	}
	return reg, notes, nil
}

func isHexLine(s string) bool {
	_, v, ok := strings.Cut(s, "=")
	return ok && strings.HasPrefix(strings.TrimSpace(v), "hex")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// parseRegValue reads `"name"=value` or `@=value`. A value of a type check never
// reads is nil, without error.
func parseRegValue(line string) (string, *RegValue, error) {
	var name, rest string
	switch {
	case strings.HasPrefix(line, "@="):
		name, rest = "", line[2:]
	case strings.HasPrefix(line, `"`):
		s, r, err := regString(line)
		if err != nil {
			return "", nil, err
		}
		if !strings.HasPrefix(r, "=") {
			return "", nil, fmt.Errorf("no '=' after the value name %q", s)
		}
		name, rest = s, r[1:]
	default:
		return "", nil, fmt.Errorf("neither a key nor a value")
	}
	rest = strings.TrimSpace(rest)
	switch {
	case strings.HasPrefix(rest, `"`):
		s, tail, err := regString(rest)
		if err != nil {
			return "", nil, err
		}
		if strings.TrimSpace(tail) != "" {
			return "", nil, fmt.Errorf("text after the string value of %q", name)
		}
		return name, &RegValue{S: s}, nil
	case strings.HasPrefix(strings.ToLower(rest), "dword:"):
		n, err := strconv.ParseUint(strings.TrimSpace(rest[6:]), 16, 32)
		if err != nil {
			return "", nil, fmt.Errorf("value %q: a DWORD is 8 hex digits", name)
		}
		return name, &RegValue{N: n, IsNum: true}, nil
	case strings.HasPrefix(rest, "-"):
		return name, nil, nil // a deletion
	case strings.HasPrefix(strings.ToLower(rest), "hex"):
		typ, hexs, ok := strings.Cut(rest, ":")
		if !ok {
			return "", nil, fmt.Errorf("value %q: hex without ':'", name)
		}
		b, err := hex.DecodeString(strings.NewReplacer(",", "", " ", "").Replace(hexs))
		if err != nil {
			return "", nil, fmt.Errorf("value %q: bad hex bytes", name)
		}
		switch strings.ToLower(typ) {
		case "hex(b)": // REG_QWORD, little-endian
			if len(b) != 8 {
				return "", nil, fmt.Errorf("value %q: a QWORD is 8 bytes, not %d", name, len(b))
			}
			var n uint64
			for i := 7; i >= 0; i-- {
				n = n<<8 | uint64(b[i])
			}
			return name, &RegValue{N: n, IsNum: true}, nil
		case "hex(2)", "hex(1)": // REG_EXPAND_SZ, REG_SZ: UTF-16LE, NUL-terminated
			u := make([]uint16, 0, len(b)/2)
			for i := 0; i+1 < len(b); i += 2 {
				u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
			}
			return name, &RegValue{S: strings.TrimRight(string(utf16.Decode(u)), "\x00")}, nil
		case "hex(4)": // REG_DWORD written as bytes
			if len(b) != 4 {
				return "", nil, fmt.Errorf("value %q: a DWORD is 4 bytes, not %d", name, len(b))
			}
			return name, &RegValue{N: uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24, IsNum: true}, nil
		}
		return name, nil, nil // binary, multi-string: check reads none
	}
	return "", nil, fmt.Errorf("value %q: a type this reader does not know", name)
}

// regString reads a quoted string with the export's escapes (\\ and \") and
// returns what follows it.
func regString(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("a string that ends in a lone backslash")
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("a string without its closing quote")
}

// Value is a key's value; fs.ErrNotExist when the key or the value is absent.
func (r *Registry) Value(key, name string) (RegValue, error) {
	k, ok := r.keys[regKey(key)]
	if !ok {
		return RegValue{}, fmt.Errorf(`key %s: %w`, key, fs.ErrNotExist)
	}
	v, ok := k[strings.ToLower(name)]
	if !ok {
		return RegValue{}, fmt.Errorf(`value %s: %w`, name, fs.ErrNotExist)
	}
	return v, nil
}

// Subkeys are a key's direct subkeys, by their names as exported (lower-cased).
func (r *Registry) Subkeys(key string) ([]string, error) {
	k := regKey(key)
	if _, ok := r.keys[k]; !ok {
		return nil, fmt.Errorf(`key %s: %w`, key, fs.ErrNotExist)
	}
	var out []string
	for name := range r.keys {
		if rest, ok := strings.CutPrefix(name, k+`\`); ok && !strings.Contains(rest, `\`) {
			out = append(out, rest)
		}
	}
	slices.Sort(out)
	return out, nil
}

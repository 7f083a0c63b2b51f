package report

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/nestvirt/nestvirt/internal/plan"
	"github.com/nestvirt/nestvirt/internal/policy"
)

// appendTopology writes a topology result exactly as encoding/json's indented
// encoder would (two-space indent after prefix, no HTML escaping). A plan over
// 100,000 chains spends most of its output time here, and reflection plus a second
// indenting pass cost five times as much; TestAppendJSONMatchesEncodingJSON holds the
// two to the same bytes.
func appendTopology(b []byte, t plan.TopologyResult, prefix string) []byte {
	in1 := prefix + "  "
	b = append(b, "{\n"...)
	b = appendKey(b, in1, "file")
	b = appendString(b, t.File)
	b = append(b, ",\n"...)
	b = appendKey(b, in1, "name")
	if t.Name == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *t.Name)
	}
	b = append(b, ",\n"...)
	b = appendKey(b, in1, "verdict")
	if t.Verdict == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, t.Verdict.String())
	}
	b = append(b, ",\n"...)
	b = appendKey(b, in1, "chains")
	b = appendChains(b, t.Chains, in1)
	b = append(b, ",\n"...)
	b = appendKey(b, in1, "error")
	if t.Error == nil {
		b = append(b, "null"...)
	} else {
		// Rare: a file that could not be judged. encoding/json writes it.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent(in1, "  ")
		enc.Encode(t.Error)
		b = append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
	}
	b = append(b, '\n')
	b = append(b, prefix...)
	return append(b, '}')
}

func appendChains(b []byte, cs []policy.ChainResult, prefix string) []byte {
	if cs == nil {
		return append(b, "null"...)
	}
	if len(cs) == 0 {
		return append(b, "[]"...)
	}
	in1, in2, in3 := prefix+"  ", prefix+"    ", prefix+"      "
	b = append(b, "[\n"...)
	for i, c := range cs {
		b = append(b, in1...)
		b = append(b, "{\n"...)
		b = appendKey(b, in2, "path")
		b = appendStrings(b, c.Path, in2)
		b = append(b, ",\n"...)
		b = appendKey(b, in2, "verdict")
		b = appendString(b, c.Verdict.String())
		b = append(b, ",\n"...)
		b = appendKey(b, in2, "findings")
		switch {
		case c.Findings == nil:
			b = append(b, "null"...)
		case len(c.Findings) == 0:
			b = append(b, "[]"...)
		default:
			b = append(b, "[\n"...)
			for j, f := range c.Findings {
				b = appendFinding(b, f, in3)
				if j < len(c.Findings)-1 {
					b = append(b, ',')
				}
				b = append(b, '\n')
			}
			b = append(b, in2...)
			b = append(b, ']')
		}
		b = append(b, '\n')
		b = append(b, in1...)
		b = append(b, '}')
		if i < len(cs)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	b = append(b, prefix...)
	return append(b, ']')
}

func appendFinding(b []byte, f policy.Finding, prefix string) []byte {
	in := prefix + "  "
	b = append(b, prefix...)
	b = append(b, "{\n"...)
	b = appendKey(b, in, "rule")
	b = appendString(b, f.Rule)
	b = append(b, ",\n"...)
	b = appendKey(b, in, "level")
	b = appendString(b, f.Level.String())
	b = append(b, ",\n"...)
	b = appendKey(b, in, "informational")
	b = strconv.AppendBool(b, f.Informational)
	b = append(b, ",\n"...)
	b = appendKey(b, in, "undetermined")
	b = strconv.AppendBool(b, f.Undetermined)
	b = append(b, ",\n"...)
	b = appendKey(b, in, "unknown")
	if f.Unknown == nil {
		b = append(b, "[]"...)
	} else {
		b = appendStrings(b, f.Unknown, in)
	}
	b = append(b, ",\n"...)
	b = appendKey(b, in, "message")
	b = appendString(b, f.Message)
	b = append(b, ",\n"...)
	b = appendKey(b, in, "source")
	b = appendString(b, f.Source)
	b = append(b, ",\n"...)
	b = appendKey(b, in, "remedy")
	if f.Remedy == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, f.Remedy)
	}
	b = append(b, '\n')
	b = append(b, prefix...)
	return append(b, '}')
}

func appendStrings(b []byte, ss []string, prefix string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	if len(ss) == 0 {
		return append(b, "[]"...)
	}
	b = append(b, "[\n"...)
	for i, s := range ss {
		b = append(b, prefix...)
		b = append(b, "  "...)
		b = appendString(b, s)
		if i < len(ss)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	b = append(b, prefix...)
	return append(b, ']')
}

func appendKey(b []byte, indent, key string) []byte {
	b = append(b, indent...)
	b = append(b, '"')
	b = append(b, key...)
	return append(b, `": `...)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping off: control
// characters, quote and backslash escaped; invalid UTF-8 as U+FFFD; U+2028 and
// U+2029 escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = strconv.AppendInt(b, int64(r&0xf), 16)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

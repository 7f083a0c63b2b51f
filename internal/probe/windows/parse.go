package windows

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/nestvirt/nestvirt/internal/probe"
)

// MaxWindowsOutput bounds what check reads from PowerShell, wsl.exe and
// .wslconfig: each is a few hundred bytes.
const MaxWindowsOutput = 1 << 20

// cimReply is cimScript's JSON. WMI's booleans are null when Windows leaves
// them blank (the processor's virtualization fields, once a hypervisor runs).
type cimReply struct {
	HypervisorPresent                       *bool
	VirtualizationFirmwareEnabled           *bool
	VMMonitorModeExtensions                 *bool
	SecondLevelAddressTranslationExtensions *bool
	Features                                json.RawMessage
}

type cimFeature struct {
	Name         string
	InstallState int
}

// CIMFacts is what the CIM query tells.
type CIMFacts struct {
	WMI      probe.WindowsWMI
	Features probe.WindowsFeatures
}

// ParseCIM reads cimScript's JSON. A feature Windows does not list is unknown;
// InstallState 1 is enabled, 2 disabled, 3 absent (Win32_OptionalFeature).
func ParseCIM(data []byte) (CIMFacts, error) {
	var out CIMFacts
	if len(data) > MaxWindowsOutput {
		return out, fmt.Errorf("%d bytes of output; the limit is %d", len(data), MaxWindowsOutput)
	}
	data = bytes.TrimSpace(bytes.TrimPrefix(decodeText(data), []byte("\ufeff")))
	if len(data) == 0 {
		return out, fmt.Errorf("no output (Wine's PowerShell stub gives none)")
	}
	var r cimReply
	if err := json.Unmarshal(data, &r); err != nil {
		return out, fmt.Errorf("not the JSON expected: %w", err)
	}
	out.WMI = probe.WindowsWMI{HypervisorPresent: r.HypervisorPresent, FirmwareEnabled: r.VirtualizationFirmwareEnabled,
		VMMonitorModeExtensions: r.VMMonitorModeExtensions, SecondLevelTranslation: r.SecondLevelAddressTranslationExtensions}
	// ConvertTo-Json writes one feature as an object, several as an array.
	var feats []cimFeature
	if len(r.Features) > 0 && !bytes.Equal(r.Features, []byte("null")) {
		if err := json.Unmarshal(r.Features, &feats); err != nil {
			var one cimFeature
			if err := json.Unmarshal(r.Features, &one); err != nil {
				return out, fmt.Errorf("Features: %w", err)
			}
			feats = []cimFeature{one}
		}
	}
	for _, f := range feats {
		var on *bool
		switch f.InstallState {
		case 1:
			on = probe.Ptr(true)
		case 2, 3:
			on = probe.Ptr(false)
		}
		switch f.Name {
		case "Microsoft-Hyper-V":
			out.Features.HyperV = on
		case "VirtualMachinePlatform":
			out.Features.VirtualMachinePlatform = on
		case "Microsoft-Windows-Subsystem-Linux":
			out.Features.WSL = on
		}
	}
	return out, nil
}

// decodeText turns UTF-16LE (what wsl.exe writes unless WSL_UTF8=1, and what
// Windows PowerShell redirects) into UTF-8; UTF-8 is returned as it is.
func decodeText(data []byte) []byte {
	le := bytes.HasPrefix(data, []byte{0xff, 0xfe})
	if !le && len(data) >= 2 {
		// No BOM: UTF-16LE text of ASCII has a NUL in every odd byte.
		nul := 0
		for i := 1; i < len(data) && i < 64; i += 2 {
			if data[i] == 0 {
				nul++
			}
		}
		le = nul*2 >= min(len(data), 64)/2 && nul > 0 && data[0] != 0
	}
	if !le {
		return data
	}
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		data = data[2:]
	}
	u := make([]uint16, 0, len(data)/2)
	for i := 0; i+1 < len(data); i += 2 {
		u = append(u, uint16(data[i])|uint16(data[i+1])<<8)
	}
	return []byte(string(utf16.Decode(u)))
}

// WSLStatus is what `wsl --status` says.
type WSLStatus struct {
	DefaultVersion *int
	// Installed: the output is WSL's status, not its "not installed" message.
	Installed bool
}

// ParseWSLStatus reads `wsl --status` in either encoding. Only English output
// names the default version; other languages leave it to the registry.
func ParseWSLStatus(data []byte) WSLStatus {
	var st WSLStatus
	if len(data) > MaxWindowsOutput {
		data = data[:MaxWindowsOutput]
	}
	text := string(decodeText(data))
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "\ufeff"))
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "default version":
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && (n == 1 || n == 2) {
				st.DefaultVersion = &n
				st.Installed = true
			}
		case "default distribution", "wsl version", "kernel version":
			st.Installed = true
		}
	}
	return st
}

// wslNested is [wsl2] nestedVirtualization as .wslconfig sets it.
type wslNested struct {
	set   bool
	value *bool // nil: set to something that is not a boolean
	line  int
}

// parseWSLConfig reads .wslconfig (an INI file) for [wsl2] nestedVirtualization.
// WSL takes the last value; lines it cannot read are noted, never fatal.
func parseWSLConfig(data []byte) (wslNested, []string) {
	var out wslNested
	var notes []string
	if len(data) > MaxWindowsOutput {
		return out, []string{fmt.Sprintf("%d bytes; the limit is %d, so it is not read", len(data), MaxWindowsOutput)}
	}
	data = bytes.TrimPrefix(decodeText(data), []byte("\ufeff"))
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), MaxWindowsOutput)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				if len(notes) < 5 {
					notes = append(notes, fmt.Sprintf("line %d: a section header without ']'", n))
				}
				section = ""
				continue
			}
			section = strings.ToLower(strings.TrimSpace(line[1:end]))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			if len(notes) < 5 {
				notes = append(notes, fmt.Sprintf("line %d: neither a section nor key=value", n))
			}
			continue
		}
		if section != "wsl2" || !strings.EqualFold(strings.TrimSpace(k), "nestedVirtualization") {
			continue
		}
		v = strings.TrimSpace(v)
		if i := strings.IndexAny(v, "#;"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		out.set, out.line, out.value = true, n, nil
		switch strings.ToLower(v) {
		case "true":
			out.value = probe.Ptr(true)
		case "false":
			out.value = probe.Ptr(false)
		}
	}
	return out, notes
}

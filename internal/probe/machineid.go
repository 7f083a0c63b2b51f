package probe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// appID is nestvirt's application ID for sd_id128_get_machine_app_specific's
// scheme (systemd's machine-id(5): "the machine ID ... should be considered
// confidential"; an application that needs a stable ID hashes it with its own).
var appID = [16]byte{0x29, 0xe4, 0xc5, 0x8f, 0xfa, 0x8c, 0x43, 0x8c, 0x89, 0x07, 0x9a, 0xae, 0x8e, 0x64, 0x2c, 0xe2}

// DerivedIDPrefix marks a file that holds an ID already derived (a snapshot
// keeps the derived ID in place of the machine's own).
const DerivedIDPrefix = "nestvirt-app-specific:"

// MachineIDOf derives nestvirt's ID from the text of /etc/machine-id (32 hex
// digits) or of a DMI product UUID (with dashes), as systemd does: HMAC-SHA256
// keyed with the 16 bytes of the ID over the application ID, its first 16
// bytes made a version 4 UUID. A text already derived is taken as it is; an
// ID of zeros (an uninitialized machine-id, a DMI UUID a vendor left blank) or
// anything else is no ID.
func MachineIDOf(text string) (string, bool) {
	t := strings.TrimSpace(text)
	if d, ok := strings.CutPrefix(t, DerivedIDPrefix); ok {
		if b, err := hex.DecodeString(d); err == nil && len(b) == 16 {
			return hex.EncodeToString(b), true // one spelling per ID
		}
		return "", false
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(t, "-", ""))
	if err != nil || len(raw) != 16 || strings.Trim(t, "0-") == "" || strings.Trim(strings.ToLower(t), "f-") == "" {
		return "", false
	}
	m := hmac.New(sha256.New, raw)
	m.Write(appID[:])
	id := m.Sum(nil)[:16]
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return hex.EncodeToString(id), true
}

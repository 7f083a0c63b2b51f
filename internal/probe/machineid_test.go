package probe

import (
	"strings"
	"testing"
)

// TestMachineIDIsSystemdsAppSpecificID: the ID is what systemd derives for
// nestvirt's application ID (the first case's value is what
// `systemd-id128 -a 29e4c58ffa8c438c89079aae8e642ce2 machine-id` printed on a
// machine whose /etc/machine-id is that text); a snapshot's derived ID reads as
// itself; what is no ID gives none.
func TestMachineIDIsSystemdsAppSpecificID(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"3d1219c7c4c5404aaa1f6d2a48adfda4\n", "7c84f5f57d03433bbc549945c0adc520"},
		{"3D1219C7-C4C5-404A-AA1F-6D2A48ADFDA4", "7c84f5f57d03433bbc549945c0adc520"}, // a DMI UUID's spelling
		{DerivedIDPrefix + "7c84f5f57d03433bbc549945c0adc520\n", "7c84f5f57d03433bbc549945c0adc520"},
		{"00000000000000000000000000000000", ""},
		{"00000000-0000-0000-0000-000000000000", ""},
		{"FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", ""},
		{"uninitialized\n", ""},
		{"", ""},
		{DerivedIDPrefix + "xyz", ""},
	} {
		got, ok := MachineIDOf(tt.text)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%q: %q %v, want %q", tt.text, got, ok, tt.want)
		}
	}
}

// FuzzMachineIDOf: any file text gives no ID or a 32-digit hex ID, and a
// snapshot's derived text of an ID reads back as that ID.
func FuzzMachineIDOf(f *testing.F) {
	for _, s := range []string{"3d1219c7c4c5404aaa1f6d2a48adfda4\n", "3D1219C7-C4C5-404A-AA1F-6D2A48ADFDA4", DerivedIDPrefix + "7c84f5f57d03433bbc549945c0adc520", "", "uninitialized"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		id, ok := MachineIDOf(text)
		if !ok {
			if id != "" {
				t.Fatalf("no ID, but %q", id)
			}
			return
		}
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("%q gives %q", text, id)
		}
		if again, ok := MachineIDOf(DerivedIDPrefix + id); !ok || again != id {
			t.Fatalf("the derived %q reads back as %q", id, again)
		}
	})
}

package fleet

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const checkWeb1 = `{"schema":"https://nestvirt.dev/schema/check/v1","verdict":"does-not-work","host":{"hostname":"web1","machine_id":"7c84f5f57d03433bbc549945c0adc520","arch":"x86_64","cpu_vendor":"amd","cpu_model":null,"virt_extension":"svm","second_level_paging":true,"hypervisor_bit":false,"os":{"id":"rhel","version":"10.0","name":"RHEL 10.0"},"virtualization":{"vm":"none","hypervisor":"none","container":"none","wsl":false,"cloud":"none","level":0,"level_min":0,"level_exact":true,"evidence":[]},"kvm":{"available":true,"device":true,"accessible":true,"module":"kvm_amd","nested":false,"hpage":null,"nested_next":false,"nested_next_from":"module default","hpage_next":null,"hpage_next_from":null,"config_module":"kvm_amd","config":[]},"stated":{"migration":null,"l0_os":null,"from":[]},"notes":[]},"findings":[{"rule":"host-nesting-off","level":"does-not-work","informational":false,"undetermined":false,"unknown":[],"message":"m","source":"s","remedy":"nestvirt enable"},{"rule":"host-l0-ready","level":"supported","informational":true,"undetermined":false,"unknown":[],"message":"m","source":"s","remedy":null}],"vms":null,"error":null}`

const checkBroken = `{"schema":"https://nestvirt.dev/schema/check/v1","verdict":null,"host":null,"findings":[],"vms":null,"error":{"kind":"input","message":"--root /x: not a snapshot"}}`

// checkNoDaemon is a check that read its machine and judged it, then failed
// to list VMs: a host's row, its error shown.
const checkNoDaemon = `{"schema":"https://nestvirt.dev/schema/check/v1","verdict":"supported","host":{"hostname":"db2","machine_id":"1c84f5f57d03433bbc549945c0adc521","arch":"x86_64","cpu_vendor":"amd","cpu_model":null,"virt_extension":"svm","second_level_paging":true,"hypervisor_bit":false,"os":null,"virtualization":{"vm":"none","hypervisor":"none","container":"none","wsl":false,"cloud":"none","level":0,"level_min":0,"level_exact":true,"evidence":[]},"kvm":{"available":true,"device":true,"accessible":true,"module":"kvm_amd","nested":true,"hpage":null,"nested_next":true,"nested_next_from":null,"hpage_next":null,"hpage_next_from":null,"config_module":null,"config":[]},"stated":{"migration":null,"l0_os":null,"from":[]},"notes":[]},"findings":[],"vms":null,"error":{"kind":"libvirt","message":"no daemon answered"}}`

const vmsWeb1 = `{"schema":"https://nestvirt.dev/schema/vms/v1","verdict":"supported","host":{"hostname":"web1","machine_id":"7c84f5f57d03433bbc549945c0adc520","arch":"x86_64","cpu_vendor":"amd","cpu_model":null,"virt_extension":"svm","second_level_paging":true,"hypervisor_bit":false,"os":null,"virtualization":{"vm":"none","hypervisor":"none","container":"none","wsl":false,"cloud":"none","level":0,"level_min":0,"level_exact":true,"evidence":[]},"kvm":{"available":true,"device":true,"accessible":true,"module":"kvm_amd","nested":false,"hpage":null,"nested_next":false,"nested_next_from":null,"hpage_next":null,"hpage_next_from":null,"config_module":null,"config":[]},"stated":{"migration":null,"l0_os":null,"from":[]},"notes":[]},"uri":"qemu:///system","notes":[],"vms":[{"name":"win11","state":"running","arch":"x86_64","cpu_mode":"host-passthrough","exposes_virtualization":true,"exposes_reason":null,"os":"win11","os_source":"libosinfo","hugepages":false,"runs":"wsl2","l2":[],"type":"kvm","platform":"rhel","verdict":"supported","chains":[],"error":null}],"error":null}`

const plan = `{"schema":"https://nestvirt.dev/schema/plan/v1","verdict":"supported","topologies":[{"file":"a.yaml","name":"lab","verdict":"supported","chains":[],"error":null},{"file":"b.yaml","name":null,"verdict":null,"chains":[],"error":{"message":"bad","problems":[]}}],"error":null}`

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadJoinsAFleetAndSaysWhatItSkipped: check documents become rows (a host
// whose check failed after reading it too), a host's vms document joins its
// row, plans are listed, and what is not a valid nestvirt document, or is only
// an error of no machine, is skipped with the reason.
func TestLoadJoinsAFleetAndSaysWhatItSkipped(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "web1.json", checkWeb1)
	write(t, dir, "sub/broken-host.json", checkBroken)
	write(t, dir, "sub/db2.json", checkNoDaemon)
	write(t, dir, "sub/web1-vms.json", vmsWeb1)
	write(t, dir, "plan.json", plan)
	write(t, dir, "inventory.json", `{"all":{}}`)
	write(t, dir, "half.json", `{"schema":"https://nestvirt.dev/schema/check/v1","verdict":"fine"}`)
	write(t, dir, "notjson.json", "<html>")
	write(t, dir, "readme.txt", "not read: not .json")
	f, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Hosts) != 2 {
		t.Fatalf("%d hosts", len(f.Hosts))
	}
	web1, db2 := f.Hosts[0], f.Hosts[1] // the worst first
	if db2.Name != "db2" || db2.Verdict != "supported" || db2.Error != "libvirt: no daemon answered" || db2.WorstText() != "none" {
		t.Errorf("db2: %+v", db2)
	}
	if web1.Verdict != "does-not-work" || web1.Nested != "off" || web1.Level != "0" || len(web1.VMs) != 1 || web1.Worst == nil || web1.Worst.Rule != "host-nesting-off" {
		t.Errorf("web1: %+v", web1)
	}
	if len(f.Topologies) != 2 || f.Topologies[1].Error != "bad" {
		t.Errorf("topologies: %+v", f.Topologies)
	}
	reasons := map[string]string{}
	for _, s := range f.Skipped {
		reasons[filepath.Base(s.File)] = s.Why
	}
	for file, why := range map[string]string{"inventory.json": "not a nestvirt document", "half.json": "not a valid check document", "notjson.json": "not a nestvirt document",
		"broken-host.json": "a check that failed, of no machine: input: --root /x: not a snapshot"} {
		if !strings.Contains(reasons[file], why) {
			t.Errorf("%s: %q, want %q", file, reasons[file], why)
		}
	}
	if _, read := reasons["readme.txt"]; read || len(f.Skipped) != 4 {
		t.Errorf("skipped %v", f.Skipped)
	}
	counts := f.Counts()
	if len(counts) != 2 || counts[0].Verdict != "does-not-work" || counts[1].Verdict != "supported" {
		t.Errorf("counts %+v", counts)
	}
	rules := f.Rules()
	if len(rules) != 1 || rules[0].ID != "host-nesting-off" || rules[0].Remedy != "nestvirt enable" || rules[0].Hosts[0] != "web1" {
		t.Errorf("rules %+v", rules)
	}
	if _, err := Load([]string{"/nonexistent"}); err == nil {
		t.Error("a missing path was read")
	}
}

// withIdentity is a check document of web1 rewritten: its machine ID, host
// name, verdict, when and how it was read (nil leaves a member out, as a
// document written before nestvirt recorded it).
func withIdentity(t *testing.T, id, name, verdict string, at, origin *string) string {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(checkWeb1), &d); err != nil {
		t.Fatal(err)
	}
	h := d["host"].(map[string]any)
	h["hostname"] = name
	delete(h, "machine_id")
	if id != "" {
		h["machine_id"], h["machine_id_from"] = id, "machine-id"
	}
	d["verdict"] = verdict
	if at != nil {
		d["checked_at"] = *at
	}
	if origin != nil {
		d["origin"] = map[string]any{"kind": *origin, "path": nil}
	}
	b, _ := json.Marshal(d)
	return string(b)
}

func ptr(s string) *string { return &s }

// TestOneRowPerMachineTheNewestWinning: the same machine fed as a live check,
// a sosreport and an Ansible fact is one row, its three sources listed newest
// first and the newest one's verdict shown; two machines that share a name are
// two rows; a document without a machine ID (written before nestvirt recorded
// one) is a row of its own, marked, merged with nothing: a name is no
// machine's identity (it merged two Windows L1s named WIN10-L1).
func TestOneRowPerMachineTheNewestWinning(t *testing.T) {
	const a, b = "7c84f5f57d03433bbc549945c0adc520", "0f3e9a1b2c4d4e5f8a6b7c8d9e0f1a2b"
	dir := t.TempDir()
	write(t, dir, "live/web1.json", withIdentity(t, a, "web1", "supported", ptr("2026-12-01T10:00:00Z"), ptr("live")))
	write(t, dir, "sos/web1.json", withIdentity(t, a, "web1", "does-not-work", ptr("2026-11-02T08:00:00Z"), ptr("sosreport")))
	write(t, dir, "ansible/web1.json", withIdentity(t, a, "web1", "unsupported", ptr("2026-11-30T10:00:00Z"), ptr("live")))
	write(t, dir, "old/web1.json", withIdentity(t, "", "web1", "untested", nil, nil))
	write(t, dir, "clone/web1.json", withIdentity(t, b, "web1-clone", "supported", ptr("2026-12-01T09:00:00Z"), ptr("live")))
	write(t, dir, "twin/db.json", withIdentity(t, a, "db", "supported", ptr("2026-12-01T09:00:00Z"), ptr("live")))
	write(t, dir, "twin/db2.json", withIdentity(t, b, "db", "tech-preview", ptr("2026-12-01T09:00:00Z"), ptr("live")))
	f, err := Load([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]*Host{}
	for _, h := range f.Hosts {
		byName[h.Name] = append(byName[h.Name], h)
	}
	web1 := byName["web1"]
	if len(web1) != 2 {
		t.Fatalf("web1 is %d rows, want 2 (one machine with an ID, one document without)", len(web1))
	}
	h, old := web1[0], web1[1]
	if h.NoID {
		h, old = old, h
	}
	if h.Verdict != "supported" || h.ID != a || !h.CheckedAt.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) || !strings.HasSuffix(h.File, "live/web1.json") {
		t.Errorf("web1: %s %s %s %s (the newest must win)", h.Verdict, h.ID, h.CheckedAt, h.File)
	}
	var got []string
	for _, s := range h.Sources {
		got = append(got, filepath.Base(filepath.Dir(s.File))+":"+s.Origin)
	}
	if want := []string{"live:live", "ansible:live", "sos:sosreport"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("sources %v, want %v (newest first)", got, want)
	}
	if h.NoID || !old.NoID || old.ID != "" || len(old.Sources) != 1 {
		t.Errorf("the document without an ID: %+v", old)
	}
	if len(byName["db"]) != 2 || len(byName["web1-clone"]) != 1 {
		t.Errorf("machines sharing a name, or an ID: db %d rows, web1-clone %d", len(byName["db"]), len(byName["web1-clone"]))
	}
	if len(f.Hosts) != 5 || f.Merged != 2 {
		t.Errorf("%d rows, %d merged; want 5 and 2", len(f.Hosts), f.Merged)
	}
}

// TestSameNamedWindowsMachinesAreTwo: two Windows L1s cloned from one template
// (WIN10-L1), a Windows 10 Pro and a Windows 11 Enterprise, were one row, the
// first shown only under Sources. With their IDs (MachineGuid, derived) they
// are two rows; without any, two rows as well, each marked. One machine's two
// documents stay one row.
func TestSameNamedWindowsMachinesAreTwo(t *testing.T) {
	win, _ := os.ReadFile("../cli/testdata/golden/check-win10-l1-wsl2.json")
	if len(win) == 0 {
		t.Fatal("the Windows golden document is missing")
	}
	withID := func(id, verdict string) string {
		var d map[string]any
		if err := json.Unmarshal(win, &d); err != nil {
			t.Fatal(err)
		}
		h := d["host"].(map[string]any)
		h["machine_id"], h["machine_id_from"] = id, "machine-guid"
		d["verdict"] = verdict
		b, _ := json.Marshal(d)
		return string(b)
	}
	for _, tc := range []struct {
		name       string
		docs       map[string]string
		rows, noID int
	}{
		{"two IDs", map[string]string{"a.json": withID("11111111111141118111111111111111", "untested"), "b.json": withID("22222222222242228222222222222222", "does-not-work")}, 2, 0},
		{"no IDs", map[string]string{"a.json": string(win), "b.json": string(win)}, 2, 2},
		{"one machine twice", map[string]string{"a.json": withID("11111111111141118111111111111111", "untested"), "b.json": withID("11111111111141118111111111111111", "untested")}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, d := range tc.docs {
				write(t, dir, n, d)
			}
			f, err := Load([]string{dir})
			if err != nil {
				t.Fatal(err)
			}
			noID := 0
			for _, h := range f.Hosts {
				if h.NoID {
					noID++
				}
				if h.Name != "WIN10-L1" {
					t.Errorf("row %q", h.Name)
				}
			}
			if len(f.Hosts) != tc.rows || noID != tc.noID {
				t.Errorf("%d rows, %d without an ID; want %d and %d (skipped: %v)", len(f.Hosts), noID, tc.rows, tc.noID, f.Skipped)
			}
		})
	}
}

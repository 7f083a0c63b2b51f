package fleet

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const checkWeb1 = `{"schema":"https://nestvirt.dev/schema/check/v1","verdict":"does-not-work","host":{"hostname":"web1","arch":"x86_64","cpu_vendor":"amd","cpu_model":null,"virt_extension":"svm","second_level_paging":true,"hypervisor_bit":false,"os":{"id":"rhel","version":"10.0","name":"RHEL 10.0"},"virtualization":{"vm":"none","hypervisor":"none","container":"none","wsl":false,"cloud":"none","level":0,"level_min":0,"level_exact":true,"evidence":[]},"kvm":{"available":true,"device":true,"accessible":true,"module":"kvm_amd","nested":false,"hpage":null,"nested_next":false,"nested_next_from":"module default","hpage_next":null,"hpage_next_from":null,"config_module":"kvm_amd","config":[]},"stated":{"migration":null,"l0_os":null,"from":[]},"notes":[]},"findings":[{"rule":"host-nesting-off","level":"does-not-work","informational":false,"undetermined":false,"unknown":[],"message":"m","source":"s","remedy":"nestvirt enable"},{"rule":"host-l0-ready","level":"supported","informational":true,"undetermined":false,"unknown":[],"message":"m","source":"s","remedy":null}],"vms":null,"error":null}`

const checkBroken = `{"schema":"https://nestvirt.dev/schema/check/v1","verdict":null,"host":null,"findings":[],"vms":null,"error":{"kind":"input","message":"--root /x: not a snapshot"}}`

const vmsWeb1 = `{"schema":"https://nestvirt.dev/schema/vms/v1","verdict":"supported","host":{"hostname":"web1","arch":"x86_64","cpu_vendor":"amd","cpu_model":null,"virt_extension":"svm","second_level_paging":true,"hypervisor_bit":false,"os":null,"virtualization":{"vm":"none","hypervisor":"none","container":"none","wsl":false,"cloud":"none","level":0,"level_min":0,"level_exact":true,"evidence":[]},"kvm":{"available":true,"device":true,"accessible":true,"module":"kvm_amd","nested":false,"hpage":null,"nested_next":false,"nested_next_from":null,"hpage_next":null,"hpage_next_from":null,"config_module":null,"config":[]},"stated":{"migration":null,"l0_os":null,"from":[]},"notes":[]},"uri":"qemu:///system","notes":[],"vms":[{"name":"win11","state":"running","arch":"x86_64","cpu_mode":"host-passthrough","exposes_virtualization":true,"exposes_reason":null,"os":"win11","os_source":"libosinfo","hugepages":false,"runs":"wsl2","l2":[],"type":"kvm","platform":"rhel","verdict":"supported","chains":[],"error":null}],"error":null}`

const plan = `{"schema":"https://nestvirt.dev/schema/plan/v1","verdict":"supported","topologies":[{"file":"a.yaml","name":"lab","verdict":"supported","chains":[],"error":null},{"file":"b.yaml","name":null,"verdict":null,"chains":[],"error":{"message":"bad","problems":[]}}],"error":null}`

func write(t *testing.T, dir, name, data string) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadJoinsAFleetAndSaysWhatItSkipped: check documents become rows (a broken
// host too), a host's vms document joins its row, plans are listed, and what is
// not a valid nestvirt document is skipped with the reason.
func TestLoadJoinsAFleetAndSaysWhatItSkipped(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "web1.json", checkWeb1)
	write(t, dir, "sub/broken-host.json", checkBroken)
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
	broken, web1 := f.Hosts[0], f.Hosts[1] // not judged sorts first, then the worst
	if broken.Name != "broken-host" || broken.Verdict != "" || !strings.Contains(broken.Error, "not a snapshot") {
		t.Errorf("broken: %+v", broken)
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
	for file, why := range map[string]string{"inventory.json": "not a nestvirt document", "half.json": "not a valid check document", "notjson.json": "not a nestvirt document"} {
		if !strings.Contains(reasons[file], why) {
			t.Errorf("%s: %q, want %q", file, reasons[file], why)
		}
	}
	if _, read := reasons["readme.txt"]; read || len(f.Skipped) != 3 {
		t.Errorf("skipped %v", f.Skipped)
	}
	counts := f.Counts()
	if len(counts) != 2 || counts[0].Verdict != "does-not-work" || counts[1].Verdict != "" {
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

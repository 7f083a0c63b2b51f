//go:build integration

package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nestvirt/nestvirt/internal/libvirt/libvirttest"
)

// cockpit serves the built page from a real cockpit-ws with a local session
// (no login; ../shared/reference/cockpit-local.md), its bridge finding
// nestvirt in pathDir (none when pathDir is ""). It returns the page's URL.
func cockpit(t *testing.T, pathDir string) string {
	t.Helper()
	ws := "/usr/lib/cockpit/cockpit-ws"
	if _, err := os.Stat(ws); err != nil {
		t.Fatalf("cockpit-ws is needed (apt-get install cockpit-ws cockpit-bridge; scripts/test.sh does): %v", err)
	}
	data := t.TempDir()
	build := exec.Command("bash", "../../scripts/cockpit.sh", filepath.Join(data, "cockpit/nestvirt"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/cockpit.sh: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	path := "/usr/sbin:/usr/bin:/sbin:/bin"
	if pathDir != "" {
		path = pathDir + ":" + path
	}
	cmd := exec.Command(ws, "--no-tls", "--address", "127.0.0.1", "--port", fmt.Sprint(port), "--local-session=cockpit-bridge")
	cmd.Env = []string{"PATH=" + path, "XDG_DATA_HOME=" + data, "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("cockpit-ws:\n%s", logs.String())
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/cockpit/@localhost/nestvirt/index.html", port)
	for i := 0; ; i++ {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if i == 100 {
			t.Fatalf("cockpit-ws does not serve %s:\n%s", url, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return url
}

// nestvirtBinary builds nestvirt into a directory of its own, for the bridge's PATH.
func nestvirtBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "nestvirt"), "../../cmd/nestvirt")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	return dir
}

func virsh(args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	return string(out), err
}

// TestTheCockpitPageAgainstARealCockpit opens the page in headless Chromium
// through a real cockpit-ws and its bridge, which run the real nestvirt
// against the real libvirtd: the host's verdict is nestvirt check's, the VM
// table is nestvirt vms's, an enable shows its dry-run diff before it changes a
// snapshot tree, an expose changes a test domain as nestvirt expose does, a
// pasted topology is judged as nestvirt plan judges it, errors say what failed,
// the theme follows the console's, and nothing is fetched from elsewhere.
func TestTheCockpitPageAgainstARealCockpit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test defines a libvirt domain and runs cockpit's bridge as root (as CI does)")
	}
	bin := nestvirtBinary(t)
	nestvirt := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := exec.Command(filepath.Join(bin, "nestvirt"), args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	name := fmt.Sprintf("nvcockpit-%d", os.Getpid())
	xml, err := libvirttest.Prepare("<domain type='kvm'><name>"+name+"</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>", name)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), name+".xml")
	os.WriteFile(f, []byte(xml), 0o644)
	if out, err := virsh("define", f); err != nil {
		t.Fatalf("define: %v %s", err, out)
	}
	t.Cleanup(func() { virsh("undefine", name) })
	tree := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(tree, os.DirFS(snapshots+"intel-l0-nesting-off/root")); err != nil {
		t.Fatal(err)
	}
	url := cockpit(t, bin)

	ctx, cancel := browser(t)
	defer cancel()
	eval := evaluator(t, ctx)
	waitFor := func(js string) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := chromedp.Run(wctx, chromedp.Poll[bool](js)); err != nil {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({dialog: document.getElementById("confirm").dataset.state, preview: document.getElementById("confirm-preview").textContent, alerts: document.getElementById("alerts").textContent, open: document.getElementById("confirm").open})`))
			t.Fatalf("waiting for %s: %v\nthe page: %s", js, err, state)
		}
	}
	open := func(u string) {
		t.Helper()
		// From a blank page: a change of the fragment alone would not reload.
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(u)); err != nil {
			t.Fatal(err)
		}
		waitFor(`document.body.dataset.ready === "true"`)
	}
	click := func(sel string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}

	// The host and the VMs, as nestvirt says them.
	open(url)
	check, _, _ := nestvirt("check", "--format", "json", "--fail-on", "never")
	var cd struct{ Verdict *string }
	json.Unmarshal([]byte(check), &cd)
	if got := eval(`document.getElementById("host-verdict").dataset.level`); cd.Verdict == nil || got != *cd.Verdict {
		t.Errorf("the page's verdict %v, nestvirt check's %v", got, cd.Verdict)
	}
	vms, _, _ := nestvirt("vms", "--format", "json", "--fail-on", "never")
	var vd struct {
		VMs []struct {
			Name    string `json:"name"`
			Verdict string `json:"verdict"`
		} `json:"vms"`
	}
	json.Unmarshal([]byte(vms), &vd)
	want := map[string]any{}
	for _, v := range vd.VMs {
		want[v.Name] = v.Verdict
	}
	got := eval(`Object.fromEntries([...document.querySelectorAll("#vms tbody tr")].map(r => [r.dataset.name, r.dataset.verdict]))`).(map[string]any)
	if fmt.Sprint(got) != fmt.Sprint(want) || want[name] == nil {
		t.Errorf("the VM table %v, nestvirt vms %v (with %s)", got, want, name)
	}
	// Nothing is fetched from anywhere but the console.
	for _, r := range eval(`performance.getEntriesByType("resource").map(e => e.name)`).([]any) {
		if !strings.HasPrefix(r.(string), strings.Split(url, "/cockpit/")[0]) {
			t.Errorf("the page fetched %s", r)
		}
	}

	// Enable on a snapshot tree of an Intel L0 with nesting off: the dry run's
	// diff first, the command shown, then the change.
	open(url + "#/?root=" + neturl.QueryEscape(tree))
	click("#enable")
	waitFor(`document.getElementById("confirm").dataset.state === "ready"`)
	dry, _, _ := nestvirt("enable", "--root", tree, "--dry-run")
	if preview := eval(`document.getElementById("confirm-preview").textContent`); preview != strings.TrimSpace(dry) || !strings.Contains(dry, "modprobe -r kvm_intel") {
		t.Errorf("the dialog's dry run %q, nestvirt's %q", preview, dry)
	}
	if cmd := eval(`document.getElementById("confirm-command").textContent`); cmd != "nestvirt enable --root "+tree {
		t.Errorf("the command shown: %v", cmd)
	}
	click("#confirm-run")
	waitFor(`["done", "failed"].includes(document.getElementById("confirm").dataset.state)`)
	if state, result := eval(`document.getElementById("confirm").dataset.state`), eval(`document.getElementById("confirm-result").textContent`); state != "done" || !strings.Contains(result.(string), "nesting is on") {
		t.Errorf("enable: %v %v", state, result)
	}
	if b, _ := os.ReadFile(filepath.Join(tree, "sys/module/kvm_intel/parameters/nested")); strings.TrimSpace(string(b)) != "Y" {
		t.Errorf("nesting is not on in the tree: %q", b)
	}
	click("#confirm-close")

	// Expose the test domain (with the tree's Intel facts): what nestvirt
	// expose would write, from its own --file run over the same definition.
	before, _ := virsh("dumpxml", "--inactive", name)
	wantXML, stderr, code := func() (string, string, int) {
		f := filepath.Join(t.TempDir(), "d.xml")
		os.WriteFile(f, []byte(before), 0o644)
		return nestvirt("expose", "--file", f, "--root", tree)
	}()
	if code != 0 {
		t.Fatalf("nestvirt expose --file: %d %s", code, stderr)
	}
	waitFor(`document.body.dataset.ready === "true" && !!document.querySelector('#vms tr[data-name="` + name + `"] button')`)
	click(`#vms tr[data-name="` + name + `"] button[data-action=expose]`)
	waitFor(`document.getElementById("confirm").dataset.state === "ready"`)
	if dry, _, _ := nestvirt("expose", name, "--root", tree, "--dry-run"); eval(`document.getElementById("confirm-preview").textContent`) != strings.TrimSpace(dry) {
		t.Errorf("the expose dialog's dry run differs from nestvirt's:\n%s", dry)
	}
	click("#confirm-run")
	waitFor(`["done", "failed"].includes(document.getElementById("confirm").dataset.state)`)
	if state := eval(`document.getElementById("confirm").dataset.state`); state != "done" {
		t.Errorf("expose: %v %v", state, eval(`document.getElementById("confirm-result").textContent`))
	}
	after, _ := virsh("dumpxml", "--inactive", name)
	cpu := regexp.MustCompile(`(?s)<cpu[ >].*?</cpu>|<cpu[^>]*/>`)
	mode := regexp.MustCompile(`mode='([^']+)'`)
	feature := regexp.MustCompile(`<feature policy='require' name='([a-z]+)'/>`)
	summary := func(x string) string {
		c := cpu.FindString(x)
		return fmt.Sprint(mode.FindStringSubmatch(c), feature.FindAllStringSubmatch(c, -1))
	}
	if summary(after) != summary(wantXML) || summary(after) == summary(before) {
		t.Errorf("the domain's CPU after the page's expose: %s; nestvirt expose --file gives %s (before: %s)", summary(after), summary(wantXML), summary(before))
	}
	click("#confirm-close")

	// A pasted topology, judged as nestvirt plan judges it.
	topo, _ := os.ReadFile("../../examples/wsl2-supported.yaml")
	planned, _, _ := nestvirt("plan", "../../examples/wsl2-supported.yaml", "--format", "json", "--fail-on", "never")
	var pd struct{ Verdict string }
	json.Unmarshal([]byte(planned), &pd)
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#plan-text"), string(topo))); err != nil {
		t.Fatal(err)
	}
	click("#plan-run")
	waitFor(`document.getElementById("plan-result").dataset.state === "done"`)
	if v := eval(`document.querySelector("#plan-result .nv-topology h3 .pf-c-label").dataset.level`); v != pd.Verdict {
		t.Errorf("the page judges the topology %v, nestvirt plan %s", v, pd.Verdict)
	}

	// Errors say what failed: a libvirt that is not there.
	open(url + "#/?connect=" + neturl.QueryEscape("qemu:///system?socket=/nonexistent/libvirt-sock"))
	if msg := eval(`document.getElementById("vms-summary").textContent`).(string); !strings.Contains(msg, "The VMs could not be listed") || !strings.Contains(msg, "/nonexistent/libvirt-sock") {
		t.Errorf("no libvirt: %q", msg)
	}

	// With the keyboard alone: Tab reaches the first control, Enter on a
	// button opens its dialog, Escape closes it.
	open(url)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if id := eval(`document.activeElement.id`); id != "refresh" {
		t.Errorf("Tab first reaches %v, not the Refresh button", id)
	}
	eval(`document.getElementById("enable").focus()`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitFor(`document.getElementById("confirm").open`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	waitFor(`!document.getElementById("confirm").open`)

	// The console's dark theme.
	eval(`localStorage.setItem("shell:style", "dark")`)
	open(url)
	if dark := eval(`document.documentElement.classList.contains("pf-theme-dark")`); dark != true {
		t.Error("the shell's dark theme is not followed")
	}
	// The screenshot the README shows: the snapshot tree's L0 and this libvirt's VMs.
	eval(`localStorage.setItem("shell:style", "light")`)
	open(url + "#/?root=" + neturl.QueryEscape(tree))
	chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1500))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if updateScreenshot {
		os.WriteFile("../../docs/cockpit.png", png, 0o644)
	}

	// nestvirt missing: the page says so.
	bare := cockpit(t, "")
	open(bare)
	if msg := eval(`document.getElementById("alerts").textContent`).(string); !strings.Contains(msg, "nestvirt is not installed on this host") {
		t.Errorf("without nestvirt: %q", msg)
	}
}

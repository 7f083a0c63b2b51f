//go:build integration

// Package browser holds the tests that open nestvirt's pages in a real browser
// (Debian's headless Chromium, driven by chromedp). They live in the tools module
// so that nestvirt's own go.mod does not carry a browser driver.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nestvirt/nestvirt/internal/cli"
)

const snapshots = "../../internal/probe/testdata/snapshots/"

// nv runs nestvirt as the binary would.
func nv(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

var updateScreenshot = os.Getenv("NESTVIRT_UPDATE_SCREENSHOT") != ""

// fleetDocs writes n check documents, cycling through the snapshots' real check
// output with generated host names, plus hostile ones: a name that is markup, a
// file that is not a nestvirt document, one that claims the schema but breaks it.
func fleetDocs(t *testing.T, n int) (dir string, verdicts map[string]int) {
	t.Helper()
	dir = t.TempDir()
	var docs []map[string]any
	for _, s := range []string{"amd-l0-nested", "intel-l0-ready", "intel-l0-nesting-off", "pvm", "rhel96-l1-on-kvm", "s390x-hpage", "wsl2", "kvm-guest-no-vmx", "rhel-on-vmware", "debian-l0"} {
		out, _, _ := nv(t, "check", "--format", "json", "--fail-on", "never", "--root", snapshots+s+"/root")
		var d map[string]any
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	verdicts = map[string]int{}
	for i := 0; i < n; i++ {
		d := docs[i%len(docs)]
		name := fmt.Sprintf("host-%05d", i)
		if i == 7 {
			name = `<img src=x onerror="window.injected=1">`
		}
		d["host"].(map[string]any)["hostname"] = name
		b, _ := json.Marshal(d)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("h%05d.json", i)), b, 0o644)
		verdicts[d["verdict"].(string)]++
	}
	os.WriteFile(filepath.Join(dir, "inventory.json"), []byte(`{"all": {"hosts": ["a"]}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"schema": "https://nestvirt.dev/schema/check/v1", "verdict": 3}`), 0o644)
	return dir, verdicts
}

// browser opens a page in headless Chromium (Debian's chromium, driven by
// chromedp) and waits for its script.
func browser(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is needed (apt-get install chromium; scripts/test.sh does): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.WindowSize(1300, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

// TestTheFleetReportInARealBrowser: a report of 300 hosts, opened in Chromium,
// shows the counts the documents hold, sorts, filters, runs no markup from a host
// name, and lists the files it skipped.
func TestTheFleetReportInARealBrowser(t *testing.T) {
	dir, verdicts := fleetDocs(t, 300)
	page := filepath.Join(t.TempDir(), "report.html")
	_, stderr, code := nv(t, "report", dir, "-o", page)
	if code != 0 || !strings.Contains(stderr, "300 hosts") || !strings.Contains(stderr, "2 files skipped") {
		t.Fatalf("report: %d %s", code, stderr)
	}
	html, _ := os.ReadFile(page)
	for _, remote := range []string{"http://", "https://", "//cdn"} {
		for _, l := range strings.Split(string(html), "\n") {
			if strings.Contains(l, "src=\""+remote) || strings.Contains(l, "href=\""+remote) {
				t.Errorf("the page fetches %q: %s", remote, l)
			}
		}
	}
	// Without its script: every row is in the page, the hostile name as text.
	if n := strings.Count(string(html), `<tr id="h`); n != 300 {
		t.Errorf("%d rows in the HTML", n)
	}
	if !strings.Contains(string(html), "&lt;img src=x onerror=&#34;window.injected=1&#34;&gt;") {
		t.Error("the hostile name is not escaped in the HTML")
	}
	ctx, cancel := browser(t)
	defer cancel()
	eval := func(js string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	do(chromedp.Navigate("file://"+page), chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](`window.nestvirtReady === true`)(c, tg)
		return chromedp.Void{}, err
	}))
	rows := eval(`document.querySelectorAll("#hosts tbody tr").length`)
	legend := eval(`document.querySelectorAll(".legend li").length`)
	counts := eval(`Object.fromEntries([...document.querySelectorAll(".legend li")].map(li => [li.dataset.verdict, Number(li.querySelector(".count").textContent)]))`).(map[string]any)
	injected := eval(`window.injected === 1`)
	skipped := eval(`document.getElementById("skipped").textContent`).(string)
	if rows != 300.0 || legend != float64(len(verdicts)) {
		t.Errorf("%v rows, %v legend entries; want 300 and %d", rows, legend, len(verdicts))
	}
	for v, n := range verdicts {
		if counts[v] != float64(n) {
			t.Errorf("%s: the page says %v, the documents %d", v, counts[v], n)
		}
	}
	if injected != false {
		t.Error("a host name ran as markup")
	}
	if !strings.Contains(skipped, "inventory.json") || !strings.Contains(skipped, "broken.json") {
		t.Errorf("skipped: %q", skipped)
	}

	// Sort by host name, both ways; filter by text and by verdict.
	first := func() any { return eval(`document.querySelector("#hosts tbody tr").dataset.name`) }
	visible := func() any {
		return eval(`[...document.querySelectorAll("#hosts tbody tr")].filter(r => !r.hidden).length`)
	}
	do(chromedp.Click(chromedp.CSS(`th[data-key=name] button`)))
	if got := first(); got != "host-00299" {
		t.Errorf("sorted by name, descending: first %v", got)
	}
	do(chromedp.Click(chromedp.CSS(`th[data-key=name] button`)))
	if got := first(); got != `<img src=x onerror="window.injected=1">` {
		t.Errorf("sorted by name, ascending: first %v", got)
	}
	do(chromedp.SendKeys(chromedp.CSS(`#filter`), "host-0001"))
	if v, shown := visible(), eval(`document.getElementById("shown").textContent`); v != 10.0 || shown != "10 of 300 shown" {
		t.Errorf("filter host-0001: %v visible, %q", v, shown)
	}
	eval(`document.getElementById("filter").value = ""; document.getElementById("filter").dispatchEvent(new Event("input"))`)
	eval(`document.getElementById("verdict").value = "does-not-work"; document.getElementById("verdict").dispatchEvent(new Event("change"))`)
	if v := visible(); v != float64(verdicts["does-not-work"]) {
		t.Errorf("verdict filter: %v rows, want %d", v, verdicts["does-not-work"])
	}

	// The screenshot the README shows: the worst hosts first.
	eval(`document.getElementById("verdict").value = ""; document.getElementById("verdict").dispatchEvent(new Event("change"))`)
	do(chromedp.Click(chromedp.CSS(`th[data-key=verdict] button`)))
	if got := eval(`document.querySelector("#hosts tbody tr").dataset.v`); got != "does-not-work" {
		t.Errorf("sorted by verdict, worst first: first %v", got)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if len(png) < 10000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot of %d bytes", len(png))
	}
	if updateScreenshot {
		if err := os.WriteFile("../../docs/report.png", png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestATenThousandHostReportOpensQuickly measures how long Chromium takes to
// load and run a report of 10,000 hosts (docs/PERFORMANCE.md).
func TestATenThousandHostReportOpensQuickly(t *testing.T) {
	dir, _ := fleetDocs(t, 10000)
	page := filepath.Join(t.TempDir(), "report.html")
	start := time.Now()
	if _, stderr, code := nv(t, "report", dir, "-o", page); code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	generate := time.Since(start)
	ctx, cancel := browser(t)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.nestvirtReady === true`)); err != nil {
		t.Fatal(err)
	}
	open := time.Since(start)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#hosts tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`th[data-key=name] button`))); err != nil {
		t.Fatal(err)
	}
	sorted := time.Since(start)
	fi, _ := os.Stat(page)
	t.Logf("10,000 hosts: written in %s (%d KiB), opened in %s, sorted in %s", generate, fi.Size()>>10, open, sorted)
	if rows != 10000 {
		t.Errorf("%d rows", rows)
	}
	if open > 2*time.Second {
		t.Errorf("opening took %s; the page must open in under 2 s", open)
	}
}

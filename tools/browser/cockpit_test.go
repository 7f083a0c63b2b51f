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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/nestvirt/nestvirt/internal/libvirt/libvirttest"
)

// The web console's page, tested as an admin meets it: inside the console's
// shell (its menu, its frame), in the two consoles it must look native in —
// cockpit 287 (Debian 12, PatternFly 4 around the page) and cockpit 337
// (PatternFly 6, the console of later RHEL 10 and 9 updates) — each a real
// cockpit-ws and bridge from Debian's packages (scripts/cockpit-trees.sh
// unpacks them; ../shared/reference/cockpit-local.md), running the real
// nestvirt against the real libvirtd.

// consoles are the cockpit versions the page is tested in.
var consoles = []string{"287", "337"}

// tree is where scripts/cockpit-trees.sh unpacked a cockpit version.
func tree(t *testing.T, version string) string {
	t.Helper()
	base := os.Getenv("NESTVIRT_COCKPIT_TREES")
	if base == "" {
		base = "/var/cache/nestvirt-test"
	}
	dir := filepath.Join(base, "cockpit-"+version, "tree")
	if _, err := os.Stat(filepath.Join(dir, "usr/lib/cockpit/cockpit-ws")); err != nil {
		t.Fatalf("cockpit %s is not unpacked in %s (bash scripts/cockpit-trees.sh; scripts/test.sh runs it): %v", version, dir, err)
	}
	return dir
}

// builtPage is the page as the package ships it (scripts/cockpit.sh), built
// once, in a directory every user can read.
func builtPage(t *testing.T) string { return must(t, builtPageOnce) }

var builtPageOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "nestvirt-page-")
	if err != nil {
		return "", err
	}
	os.Chmod(dir, 0o755)
	pageDir := filepath.Join(dir, "cockpit", "nestvirt")
	if out, err := exec.Command("bash", "../../scripts/cockpit.sh", pageDir, filepath.Join(dir, "nestvirt.pot")).CombinedOutput(); err != nil {
		return "", fmt.Errorf("scripts/cockpit.sh: %v\n%s", err, out)
	}
	return pageDir, nil
})

// nestvirtBinary builds nestvirt once into a directory only root can change
// (the guard installs only such a binary) that every user can run.
func nestvirtBinary(t *testing.T) string { return must(t, binaryOnce) }

var binaryOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("/var/lib", "nestvirt-cockpit-test-")
	if err != nil {
		return "", err
	}
	os.Chmod(dir, 0o755)
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "nestvirt"), "../../cmd/nestvirt")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v %s", err, out)
	}
	return dir, nil
})

// must is what a once-built thing gives, or the test's end.
func must(t *testing.T, once func() (string, error)) string {
	t.Helper()
	v, err := once()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// session is who the console's bridge runs as.
type session struct {
	uid, gid int // 0 for root
}

// cockpit starts a real cockpit-ws of version with a local session (no
// login), its bridge finding nestvirt in pathDir ("" for none) and the page
// in its data directory. It returns the console's base URL.
func cockpit(t *testing.T, version, pathDir string, as session) string {
	t.Helper()
	tr := tree(t, version)
	pg := builtPage(t)
	data, err := os.MkdirTemp("", "nestvirt-console-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	os.Chmod(data, 0o755)
	if err := os.CopyFS(filepath.Join(data, "share", "cockpit", "nestvirt"), os.DirFS(pg)); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(data, "home")
	os.Mkdir(home, 0o700)
	os.Chown(home, as.uid, as.gid)
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
	// A login session has a user D-Bus (the shell's Services page asks it);
	// dbus-run-session gives the bridge one, as systemd --user would.
	cmd := exec.Command("dbus-run-session", "--", filepath.Join(tr, "usr/lib/cockpit/cockpit-ws"), "--no-tls", "--address", "127.0.0.1", "--port", strconv.Itoa(port),
		"--local-session="+filepath.Join(tr, "usr/bin/cockpit-bridge"))
	cmd.Env = []string{"PATH=" + path, "HOME=" + home, "LANG=C.UTF-8",
		"XDG_DATA_HOME=" + filepath.Join(data, "share"), "XDG_DATA_DIRS=" + filepath.Join(tr, "usr/share"),
		"PYTHONPATH=" + filepath.Join(tr, "usr/lib/python3/dist-packages"), "XDG_RUNTIME_DIR=" + home,
		"LD_LIBRARY_PATH=" + filepath.Join(tr, "usr/lib/x86_64-linux-gnu")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if as.uid != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(as.uid), Gid: uint32(as.gid)}
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // dbus-run-session, cockpit-ws and its bridge
		cmd.Wait()
		if t.Failed() {
			t.Logf("cockpit-ws %s:\n%s", version, logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if r, err := http.Get(base + "/cockpit/@localhost/nestvirt/index.html"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				break
			}
		}
		if i == 100 {
			t.Fatalf("cockpit-ws %s does not serve the page:\n%s", version, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return base
}

// spy records, in every frame, each process the page asks the console to
// spawn and with which options: the test reads which ran as root.
const spy = `(() => {
	let c;
	Object.defineProperty(window, "cockpit", { configurable: true, get() { return c }, set(v) {
		c = v;
		if (v && v.spawn && !v.__nvSpied) {
			const spawn = v.spawn;
			window.__spawns = [];
			v.spawn = function (args, opts) { window.__spawns.push({ args: args, opts: opts || {} }); return spawn.apply(this, arguments) };
			v.__nvSpied = true;
		}
	} });
	// A slow console: with sessionStorage.nvSlowManifests set (milliseconds),
	// the page's fetch of the shell's manifests answers that much later.
	const f = window.fetch;
	if (f && window !== window.top) window.fetch = function () {
		const a = arguments, ms = Number(sessionStorage.getItem("nvSlowManifests") || 0);
		if (ms > 0 && String(a[0]).endsWith("manifests.json"))
			return new Promise(r => setTimeout(r, ms)).then(() => f.apply(window, a));
		return f.apply(window, a);
	};
})()`

// shell drives the console's shell in Chromium, and the page in its frame.
type shell struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // where screenshots go
	name string // the console's version, for file names
}

func newShell(t *testing.T, version, base string) *shell {
	ctx, cancel := browserFor(t, 5*time.Minute)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(c, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: spy})
		return chromedp.Void{}, err
	}), chromedp.EmulateViewport(1280, 1000)); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("NESTVIRT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	return &shell{t: t, ctx: ctx, base: base, dir: dir, name: version}
}

// in evaluates expr in the page's frame inside the shell (same origin: the
// frame's window and document are the page's own).
func (s *shell) in(expr string) any {
	s.t.Helper()
	js := `(() => { const f = [...document.querySelectorAll("iframe")].find(f => (f.getAttribute("name") || "").endsWith("/nestvirt"));
		const w = f && f.contentWindow; if (!w || !w.document || !w.document.body) return null;
		return (function (window, document) { return (` + expr + `); })(w, w.document); })()`
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		s.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (s *shell) top(expr string) any {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		s.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// wait polls expr in the page's frame until it is true.
func (s *shell) wait(expr string) {
	s.t.Helper()
	for end := time.Now().Add(40 * time.Second); ; {
		if s.in("!!("+expr+")") == true {
			return
		}
		if time.Now().After(end) {
			s.t.Fatalf("waiting for %s; the page:\n%v\nthe shell (%v):\n%v", expr, s.in(`document.body.innerText.slice(0, 3000)`),
				s.top(`location.href + " frames: " + [...document.querySelectorAll("iframe")].map(f => f.getAttribute("name") + " " + f.src).join(", ")`), s.top(`document.body.innerText.slice(0, 2000)`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// open loads the page inside the shell, with address options (a fragment
// such as "#/?root=DIR"), and waits until its reads are done.
func (s *shell) open(fragment string) {
	s.t.Helper()
	start := time.Now()
	defer func() { s.t.Logf("opened %q in %v", fragment, time.Since(start).Round(time.Millisecond)) }()
	// From a blank page (a change of the fragment alone would not reload),
	// not waiting for the load event: a frame of the shell that the page does
	// not need can hold it back (the readiness poll below is the test).
	go_ := func(u string) {
		s.t.Helper()
		if err := chromedp.Do(s.ctx, chromedp.Action[chromedp.Void](func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(c, tg, page.Navigate, page.NavigateParams{URL: u})
			return chromedp.Void{}, err
		})); err != nil {
			s.t.Fatalf("navigate to %s: %v", u, err)
		}
	}
	go_("about:blank")
	for end := time.Now().Add(10 * time.Second); s.top(`location.href`) != "about:blank"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			s.t.Fatal("the page was not left")
		}
	}
	go_(s.base + "/nestvirt" + fragment)
	s.wait(`document.getElementById("nv-page") && document.getElementById("nv-page").dataset.ready === "true" && document.getElementById("nv-page").dataset.admin !== ""`)
}

func (s *shell) click(sel string) {
	s.t.Helper()
	if s.in(`(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); if (!e) return false; e.click(); return true })()`) != true {
		s.t.Fatalf("no %s on the page", sel)
	}
}

func (s *shell) text(sel string) string {
	s.t.Helper()
	v, _ := s.in(`(document.querySelector(` + strconv.Quote(sel) + `) || {}).textContent || ""`).(string)
	return v
}

func (s *shell) screenshot(name string) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, chromedp.CaptureScreenshot())
	if err != nil || len(png) < 10000 {
		s.t.Fatalf("screenshot %s: %v (%d bytes)", name, err, len(png))
	}
	os.WriteFile(filepath.Join(s.dir, "cockpit-"+s.name+"-"+name+".png"), png, 0o644)
	if updateScreenshot && s.name == "337" && name == "light" {
		if err := os.WriteFile("../../docs/cockpit.png", png, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

// dialogGone: nothing of a closed dialog is drawn or reachable: no dialog, no
// Run button, no element of one that takes focus.
func (s *shell) dialogGone(when string) {
	s.t.Helper()
	if got := s.in(`({dialog: !!document.getElementById("nv-dialog"), run: [...document.querySelectorAll("button")].filter(b => b.textContent.trim() === "Run").length,
		modal: document.querySelectorAll(".pf-v6-c-modal-box, .pf-v6-c-backdrop, dialog").length})`); fmt.Sprint(got) != "map[dialog:false modal:0 run:0]" {
		s.t.Errorf("%s: a dialog is left on the page: %v", when, got)
	}
}

// spawns are the processes the page asked for since it loaded.
type spawned struct {
	Args []string       `json:"args"`
	Opts map[string]any `json:"opts"`
}

func (s *shell) spawns() []spawned {
	s.t.Helper()
	raw, _ := s.in(`JSON.stringify(window.__spawns || [])`).(string)
	var out []spawned
	json.Unmarshal([]byte(raw), &out)
	return out
}

// nvCLI runs the same nestvirt as the console's bridge.
func nvCLI(t *testing.T, bin string, args ...string) (string, string, int) {
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

// nvAs is nestvirt's standard output run as the user of as, the way the
// console's bridge runs it for that user's session.
func nvAs(t *testing.T, bin string, as session, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "nestvirt"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(as.uid), Gid: uint32(as.gid)}}
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "LANG=C.UTF-8"}
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return string(out)
}

func virsh(args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	return string(out), err
}

// defineVM defines a small test domain of the type the daemon offers.
func defineVM(t *testing.T, name string) {
	t.Helper()
	xml, err := libvirttest.Prepare("<domain type='kvm'><name>x</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>", name)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "d.xml")
	os.WriteFile(f, []byte(xml), 0o644)
	virsh("undefine", "--", name) // one a killed run left
	if out, err := virsh("define", f); err != nil {
		t.Fatalf("define %s: %v %s", name, err, out)
	}
	t.Cleanup(func() { virsh("undefine", "--", name) })
}

var cpuSummary = func() func(string) string {
	cpu := regexp.MustCompile(`(?s)<cpu[ >].*?</cpu>|<cpu[^>]*/>`)
	mode := regexp.MustCompile(`mode='([^']+)'`)
	feature := regexp.MustCompile(`<feature policy='require' name='([a-z]+)'/>`)
	return func(x string) string {
		c := cpu.FindString(x)
		return fmt.Sprint(mode.FindStringSubmatch(c), feature.FindAllStringSubmatch(c, -1))
	}
}()

// sinceLine is the install time a hook records: a dry run and a later one
// differ in it alone.
var sinceLine = regexp.MustCompile(`"since":"[^"]*"`)

// TestTheConsolePage is the page in each console, as an admin and as a user
// without administrative access.
func TestTheConsolePage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test defines libvirt domains, installs the guard and runs the console's bridge as root and as another user (as CI does)")
	}
	for _, v := range consoles {
		t.Run("cockpit-"+v, func(t *testing.T) { testConsole(t, v) })
	}
}

func testConsole(t *testing.T, version string) {
	bin := nestvirtBinary(t)
	vm := fmt.Sprintf("nvconsole-%s-%d", version, os.Getpid())
	flagLike := "--dry-run"
	defineVM(t, vm)
	defineVM(t, flagLike)
	snap := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(snap, os.DirFS(snapshots+"intel-l0-nesting-off/root")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nvCLI(t, bin, "guard", "uninstall") })
	s := newShell(t, version, cockpit(t, version, bin, session{}))

	// A fresh load inside the shell: the menu has the page, the shell is
	// whole (cockpit-system is there), nothing of a dialog is drawn.
	s.open("")
	if menu := s.top(`document.body.innerText`).(string); !strings.Contains(menu, "Nested virtualization") || strings.Contains(menu, "missing the cockpit-system") {
		t.Errorf("the shell's menu: %.600q", menu)
	}
	s.dialogGone("a fresh load")
	if admin := s.in(`document.getElementById("nv-page").dataset.admin`); admin != "yes" {
		t.Errorf("a root session's administrative access: %v", admin)
	}

	// The host and the VMs, as nestvirt says them; reads ran as the user.
	check, _, _ := nvCLI(t, bin, "check", "--format", "json", "--fail-on", "never")
	var cd struct {
		Verdict *string
		Actions []struct {
			ID       string
			Possible *bool
			Why      *string
		}
	}
	json.Unmarshal([]byte(check), &cd)
	if got := s.in(`document.getElementById("host-verdict").dataset.level`); cd.Verdict == nil || got != *cd.Verdict {
		t.Errorf("the page's verdict %v, nestvirt check's %v", got, cd.Verdict)
	}
	vmsOut, _, _ := nvCLI(t, bin, "vms", "--format", "json", "--fail-on", "never")
	var vd struct {
		VMs []struct{ Name, Verdict string }
	}
	json.Unmarshal([]byte(vmsOut), &vd)
	want := map[string]any{}
	for _, v := range vd.VMs {
		want[v.Name] = v.Verdict
	}
	got := s.in(`Object.fromEntries([...document.querySelectorAll("#vms tbody tr")].map(r => [r.dataset.name, r.dataset.verdict]))`)
	if fmt.Sprint(got) != fmt.Sprint(want) || want[vm] == nil || want[flagLike] == nil {
		t.Errorf("the VM table %v, nestvirt vms %v", got, want)
	}
	for _, sp := range s.spawns() {
		if _, root := sp.Opts["superuser"]; root {
			t.Errorf("a read asked for administrative access: %v %v", sp.Args, sp.Opts)
		}
	}
	// What nestvirt says cannot be done is not offered, and says why.
	for _, a := range cd.Actions {
		id := map[string]string{"enable": "enable", "disable": "disable", "guard-install": "guard-install", "guard-uninstall": "guard-remove"}[a.ID]
		disabled := s.in(`document.getElementById("` + id + `").disabled`)
		primary := s.in(`document.getElementById("` + id + `").classList.contains("pf-m-primary")`)
		reason := s.text(`.nv-reasons li[data-for="` + a.ID + `"]`)
		switch {
		case a.Possible != nil && !*a.Possible && (disabled != true || primary != false || !strings.Contains(reason, *a.Why)):
			t.Errorf("%s: nestvirt says not possible (%s); the page: disabled %v, primary %v, reason %q", a.ID, *a.Why, disabled, primary, reason)
		case a.Possible != nil && *a.Possible && disabled != false:
			t.Errorf("%s: nestvirt says possible; the page disables it: %q", a.ID, reason)
		}
	}
	// The VMs of the Virtual Machines page: each name leads there.
	if n := s.in(`document.querySelectorAll("#vms .nv-vm-link").length`); n != float64(len(vd.VMs)) {
		t.Errorf("%v VM links to the Virtual Machines page, %d VMs", n, len(vd.VMs))
	}

	// The guard: its dialog shows install's own dry run before Run is
	// enabled; Cancel leaves nothing; then it is installed and removed.
	s.click("#guard-install")
	s.wait(`document.getElementById("nv-dialog") && ["ready", "refused"].includes(document.getElementById("nv-dialog").dataset.state)`)
	dry, _, _ := nvCLI(t, bin, "guard", "install", "--dry-run")
	if preview := s.text("#nv-dialog-preview"); sinceLine.ReplaceAllString(preview, "") != sinceLine.ReplaceAllString(strings.TrimSpace(dry), "") || !strings.Contains(preview, "+++ b/etc/libvirt/hooks/qemu.d/nestvirt-guard") {
		t.Errorf("the guard dialog's dry run %q, nestvirt's %q", preview, dry)
	}
	s.screenshot("guard-dialog")
	s.click("#nv-dialog-close")
	s.dialogGone("after Cancel on the guard's dialog")
	s.click("#guard-install")
	s.wait(`document.getElementById("nv-dialog") && document.getElementById("nv-dialog").dataset.state === "ready"`)
	s.click("#nv-dialog-run")
	s.wait(`["done", "failed"].includes(document.getElementById("nv-dialog").dataset.state)`)
	if st, _, _ := nvCLI(t, bin, "guard", "status"); !strings.Contains(st, "installed") || strings.Contains(st, "not installed") {
		t.Errorf("after the page's install, guard status: %s", st)
	}
	s.click("#nv-dialog-close")
	s.wait(`!document.getElementById("nv-dialog") && document.getElementById("nv-page").dataset.ready === "true" && !document.getElementById("guard-remove").disabled`)
	if s.in(`document.getElementById("guard-install").disabled`) != true {
		t.Error("an installed guard is offered for install again")
	}
	s.click("#guard-remove")
	s.wait(`document.getElementById("nv-dialog") && document.getElementById("nv-dialog").dataset.state === "ready"`)
	if preview := s.text("#nv-dialog-preview"); !strings.Contains(preview, "+++ /dev/null") {
		t.Errorf("the remove dialog's dry run: %q", preview)
	}
	s.click("#nv-dialog-run")
	s.wait(`["done", "failed"].includes(document.getElementById("nv-dialog").dataset.state)`)
	s.click("#nv-dialog-close")
	if st, _, _ := nvCLI(t, bin, "guard", "status"); !strings.Contains(st, "not installed") {
		t.Errorf("after the page's removal, guard status: %s", st)
	}

	// A snapshot tree from the address: shown on the page; each dialog shows
	// the option and runs nothing as root until it is confirmed.
	s.open("#/?root=" + neturl.QueryEscape(snap))
	if addr := s.text("#address"); !strings.Contains(addr, snap) {
		t.Errorf("the address option is not shown: %q", addr)
	}
	before := len(s.spawns())
	s.click("#enable")
	s.wait(`document.getElementById("nv-dialog") && document.getElementById("nv-dialog").dataset.state === "confirming"`)
	if s.in(`document.getElementById("nv-dialog-run").disabled`) != true || len(s.spawns()) != before || !strings.Contains(s.text("#nv-dialog-address"), snap) {
		t.Errorf("before confirming the address: Run %v, %d spawns, %q", s.in(`document.getElementById("nv-dialog-run").disabled`), len(s.spawns())-before, s.text("#nv-dialog-address"))
	}
	s.screenshot("enable-confirm")
	s.click("#nv-dialog-confirm")
	s.wait(`document.getElementById("nv-dialog").dataset.state === "ready"`)
	dry, _, _ = nvCLI(t, bin, "enable", "--dry-run", "--root", snap)
	if preview := s.text("#nv-dialog-preview"); preview != strings.TrimSpace(dry) || !strings.Contains(dry, "modprobe -r kvm_intel") {
		t.Errorf("the dialog's dry run %q, nestvirt's %q", preview, dry)
	}
	if cmd := s.text("#nv-dialog-command"); cmd != "nestvirt enable --root "+snap {
		t.Errorf("the command shown: %q", cmd)
	}
	s.screenshot("enable-dialog")
	s.click("#nv-dialog-run")
	s.wait(`["done", "failed"].includes(document.getElementById("nv-dialog").dataset.state)`)
	if r := s.text("#nv-dialog-result"); !strings.Contains(r, "nesting is on") {
		t.Errorf("enable: %q", r)
	}
	if b, _ := os.ReadFile(filepath.Join(snap, "sys/module/kvm_intel/parameters/nested")); strings.TrimSpace(string(b)) != "Y" {
		t.Errorf("nesting is not on in the tree: %q", b)
	}
	s.click("#nv-dialog-close")
	s.wait(`!document.getElementById("nv-dialog") && document.getElementById("nv-page").dataset.ready === "true"`)
	if s.in(`document.getElementById("enable").disabled`) != true {
		t.Error("enable is offered where nesting is now on")
	}

	// Expose a VM, with the tree's Intel facts: what nestvirt expose does.
	xmlBefore, _ := virsh("dumpxml", "--inactive", vm)
	f := filepath.Join(t.TempDir(), "d.xml")
	os.WriteFile(f, []byte(xmlBefore), 0o644)
	wantXML, stderr, code := nvCLI(t, bin, "expose", "--file", f, "--root", snap)
	if code != 0 {
		t.Fatalf("nestvirt expose --file: %d %s", code, stderr)
	}
	s.click(`#vms tr[data-name="` + vm + `"] button[id^="expose-"]`)
	s.wait(`document.getElementById("nv-dialog").dataset.state === "confirming"`)
	s.click("#nv-dialog-confirm")
	s.wait(`["ready", "refused"].includes(document.getElementById("nv-dialog").dataset.state)`)
	if dry, _, _ := nvCLI(t, bin, "expose", "--connect", "qemu:///system", "--root", snap, "--dry-run", "--", vm); s.text("#nv-dialog-preview") != strings.TrimSpace(dry) {
		t.Errorf("the expose dialog's dry run %q, nestvirt's %q", s.text("#nv-dialog-preview"), dry)
	}
	s.screenshot("expose-dialog")
	s.click("#nv-dialog-run")
	s.wait(`["done", "failed"].includes(document.getElementById("nv-dialog").dataset.state)`)
	after, _ := virsh("dumpxml", "--inactive", vm)
	if cpuSummary(after) != cpuSummary(wantXML) || cpuSummary(after) == cpuSummary(xmlBefore) {
		t.Errorf("the domain's CPU after the page's expose: %s; nestvirt expose --file gives %s (before: %s)", cpuSummary(after), cpuSummary(wantXML), cpuSummary(xmlBefore))
	}
	s.click("#nv-dialog-close")
	s.wait(`!document.getElementById("nv-dialog") && document.getElementById("nv-page").dataset.ready === "true"`)

	// A domain named like a flag is acted on as a name.
	s.click(`#vms tr[data-name="` + flagLike + `"] button[id^="expose-"]`)
	s.wait(`document.getElementById("nv-dialog").dataset.state === "confirming"`)
	if cmd := s.text("#nv-dialog-command"); !strings.HasSuffix(cmd, " -- --dry-run") {
		t.Errorf("the command for a domain named --dry-run: %q", cmd)
	}
	s.click("#nv-dialog-confirm")
	s.wait(`document.getElementById("nv-dialog").dataset.state === "ready"`)
	s.click("#nv-dialog-run")
	s.wait(`["done", "failed"].includes(document.getElementById("nv-dialog").dataset.state)`)
	if x, _ := virsh("dumpxml", "--inactive", "--", flagLike); !strings.Contains(x, "vmx") && !strings.Contains(x, "host-passthrough") {
		t.Errorf("the domain named --dry-run was not exposed: %s (%s)", cpuSummary(x), s.text("#nv-dialog-result"))
	}
	s.click("#nv-dialog-close")
	s.wait(`!document.getElementById("nv-dialog")`)
	for _, sp := range s.spawns() {
		_, root := sp.Opts["superuser"]
		action := len(sp.Args) > 1 && map[string]bool{"enable": true, "disable": true, "expose": true, "unexpose": true}[sp.Args[1]] ||
			len(sp.Args) > 2 && sp.Args[1] == "guard" && sp.Args[2] != "status"
		if root != action || (root && sp.Opts["superuser"] != "require") {
			t.Errorf("%v ran with %v: only actions (and their dry runs) ask for administrative access", sp.Args, sp.Opts)
		}
	}

	// Sort and filter the VM table.
	s.click(`#vms-sort-name button`)
	names := func() string {
		v, _ := s.in(`[...document.querySelectorAll("#vms tbody tr")].map(r => r.dataset.name).join(" ")`).(string)
		return v
	}
	first := names()
	s.click(`#vms-sort-name button`)
	if second := names(); first == second || len(strings.Fields(first)) < 2 {
		t.Errorf("sorting by name both ways: %q then %q", first, second)
	}
	s.in(`(() => { const i = document.querySelector("#vms-filter input"); const set = Object.getOwnPropertyDescriptor(window.HTMLInputElement.prototype, "value").set; set.call(i, "` + vm + `"); i.dispatchEvent(new Event("input", {bubbles: true})); })()`)
	s.wait(`document.querySelectorAll("#vms tbody tr").length === 1`)
	if shown := s.text("#vms-shown"); !strings.HasPrefix(shown, "1 of ") {
		t.Errorf("filtered: %q", shown)
	}

	// A pasted topology, judged as nestvirt plan judges it.
	topo, _ := os.ReadFile("../../examples/wsl2-supported.yaml")
	planned, _, _ := nvCLI(t, bin, "plan", "../../examples/wsl2-supported.yaml", "--format", "json", "--fail-on", "never")
	var pd struct{ Verdict string }
	json.Unmarshal([]byte(planned), &pd)
	js, _ := json.Marshal(string(topo))
	s.in(`(() => { const a = document.getElementById("plan-text"); const set = Object.getOwnPropertyDescriptor(window.HTMLTextAreaElement.prototype, "value").set; set.call(a, ` + string(js) + `); a.dispatchEvent(new Event("input", {bubbles: true})); })()`)
	s.click("#plan-run")
	s.wait(`document.getElementById("plan-result").dataset.state === "done"`)
	if v := s.in(`document.querySelector("#plan-result .nv-topology .nv-level").dataset.level`); v != pd.Verdict || pd.Verdict == "" {
		t.Errorf("the page judges the topology %v, nestvirt plan %q", v, pd.Verdict)
	}

	// Errors say what failed: a libvirt that is not there.
	s.open("#/?connect=" + neturl.QueryEscape("qemu:///system?socket=/nonexistent/libvirt-sock"))
	if msg := s.text("#vms-summary"); !strings.Contains(msg, "could not be listed") || !strings.Contains(msg, "/nonexistent/libvirt-sock") {
		t.Errorf("no libvirt: %q", msg)
	}

	// The link to the Virtual Machines page goes there, in the shell. The page
	// is ready only once it knows whether that page is there: on a slow
	// machine the shell's manifests came after the reads, and the page said it
	// was ready without its links.
	s.top(`sessionStorage.setItem("nvSlowManifests", "3000")`)
	s.open("")
	s.top(`sessionStorage.removeItem("nvSlowManifests")`)
	s.click(`#vms tr[data-name="` + vm + `"] .nv-vm-link`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc, _ := s.top(`location.pathname + location.hash`).(string)
		if strings.HasSuffix(strings.Split(loc, "#")[0], "/machines") && strings.Contains(loc, "name="+neturl.QueryEscape(vm)) || strings.Contains(loc, "name="+vm) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the VM's link led to %q", loc)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	// By keyboard: Tab reaches the first control, Enter opens a dialog,
	// Escape closes it and leaves nothing.
	s.open("")
	s.top(`[...document.querySelectorAll("iframe")].find(f => (f.getAttribute("name") || "").endsWith("/nestvirt")).focus()`)
	s.in(`(document.activeElement && document.activeElement.blur(), window.focus())`)
	key := func(k string) {
		t.Helper()
		if err := chromedp.Do(s.ctx, chromedp.KeyEvent(k)); err != nil {
			t.Fatal(err)
		}
	}
	key(kb.Tab)
	if id := s.in(`document.activeElement.id`); id != "refresh" {
		t.Errorf("Tab first reaches %v, not the Refresh button", id)
	}
	s.in(`document.querySelector('#vms tr[data-name="` + vm + `"] button[id^="unexpose-"]').focus()`)
	key(kb.Enter)
	s.wait(`document.getElementById("nv-dialog")`)
	key(kb.Escape)
	s.wait(`!document.getElementById("nv-dialog")`)
	s.dialogGone("after Escape")

	// Every word of the page's own is translatable: each heading, term and
	// button label (nestvirt's data aside: VM names) is a msgid of the POT
	// the build writes.
	pot, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(builtPage(t))), "nestvirt.pot"))
	if err != nil {
		t.Fatal(err)
	}
	labels, _ := s.in(`[...document.querySelectorAll("h1, h2, h3, th, dt, button:not(.nv-vm-link)")].map(e => e.textContent.trim()).filter(x => x)`).([]any)
	if len(labels) < 20 {
		t.Errorf("%d labels on the page", len(labels))
	}
	for _, l := range labels {
		if !strings.Contains(string(pot), "msgid "+strconv.Quote(l.(string))+"\n") {
			t.Errorf("%q is on the page but not in the POT: not translatable", l)
		}
	}

	// Light and dark, as the console's theme is set.
	s.top(`localStorage.setItem("shell:style", "dark")`)
	s.open("")
	if s.in(`document.documentElement.classList.contains("pf-v6-theme-dark")`) != true {
		t.Error("the console's dark theme is not followed")
	}
	s.screenshot("dark")
	s.top(`localStorage.setItem("shell:style", "light")`)
	s.open("")
	if s.in(`document.documentElement.classList.contains("pf-v6-theme-dark")`) != false {
		t.Error("the console's light theme is not followed")
	}
	// The README's picture: the page as it opens, tall enough for the VMs.
	chromedp.Do(s.ctx, chromedp.EmulateViewport(1280, 1800))
	s.screenshot("light")
	chromedp.Do(s.ctx, chromedp.EmulateViewport(1280, 1000))

	// Nothing is fetched from anywhere but the console.
	for _, r := range s.in(`performance.getEntriesByType("resource").map(e => e.name)`).([]any) {
		if !strings.HasPrefix(r.(string), s.base) {
			t.Errorf("the page fetched %s", r)
		}
	}

	// A session without administrative access sees what nestvirt reads as
	// the user, and is told what needs administrative access.
	u := user(t, "nestvirt-test")
	us := newShell(t, version, cockpit(t, version, bin, u))
	us.name = version + "-user"
	us.open("")
	if admin := us.in(`document.getElementById("nv-page").dataset.admin`); admin != "no" && admin != "off" {
		t.Errorf("a user session's administrative access: %v", admin)
	}
	if v := us.in(`document.getElementById("host-verdict").dataset.level`); v != *cd.Verdict {
		t.Errorf("as a user, the verdict %v; as root %v", v, *cd.Verdict)
	}
	if note := us.text("#admin-note"); !strings.Contains(note, "administrative access") {
		t.Errorf("the user is not told what needs administrative access: %q", note)
	}
	if n := us.in(`[...document.querySelectorAll("#enable, #disable, #guard-install, #guard-remove, #vms button[id^=expose-]")].filter(b => !b.disabled).length`); n != 0.0 {
		t.Errorf("%v actions offered to a session that cannot run them", n)
	}
	// Whether libvirt lets this user list the VMs (its read-only socket, and
	// polkit's answer when polkitd runs) is libvirt's to say: the page shows
	// what nestvirt, run as the user, shows.
	var uv struct {
		URI   string `json:"uri"`
		VMs   []any  `json:"vms"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(nvAs(t, bin, u, "vms", "--format", "json")), &uv); err != nil {
		t.Fatal(err)
	}
	msg := us.text("#vms-summary")
	switch want := fmt.Sprintf("%d VMs on %s", len(uv.VMs), uv.URI); {
	case uv.Error != nil && (!strings.Contains(msg, "could not be listed") || !strings.Contains(msg, uv.Error.Message)):
		t.Errorf("as a user, the VMs: %q; nestvirt as the user: %s", msg, uv.Error.Message)
	case uv.Error == nil && !strings.HasPrefix(msg, want):
		t.Errorf("as a user, the VMs: %q; nestvirt as the user: %s", msg, want)
	}
	us.screenshot("light")

	// nestvirt missing: the page says so.
	bare := newShell(t, version, cockpit(t, version, "", session{}))
	bare.open("")
	if msg := bare.text("#missing"); !strings.Contains(msg, "nestvirt is not installed on this host") {
		t.Errorf("without nestvirt: %q", msg)
	}
}

// user is an existing unprivileged account (scripts/test.sh makes
// nestvirt-test).
func user(t *testing.T, name string) session {
	t.Helper()
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		t.Fatalf("user %s: %v (scripts/test.sh creates it)", name, err)
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	out, _ = exec.Command("id", "-g", name).Output()
	gid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return session{uid: uid, gid: gid}
}

//go:build integration

package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stressTime is how long each phase of the stress test runs (60 s in all by
// default, as the issue that asked for it measured; NESTVIRT_STRESS_SECONDS
// changes it for a quicker look).
func stressTime(t *testing.T) time.Duration {
	if s := os.Getenv("NESTVIRT_STRESS_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("NESTVIRT_STRESS_SECONDS=%q", s)
		}
		return time.Duration(n) * time.Second / 2
	}
	return 30 * time.Second
}

// daemonPID is the running libvirtd's process ID (scripts/libvirtd.sh starts it
// with -d, which writes /run/libvirtd.pid).
func daemonPID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/run/libvirtd.pid")
	if err != nil {
		t.Fatalf("the libvirtd these tests use writes /run/libvirtd.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscallKill(pid) != nil {
		t.Fatalf("libvirtd (pid %q) is not running", b)
	}
	return pid
}

// TestTheDaemonSurvivesAndNoEditIsLostSilently: real nestvirt processes in
// loops (three of expose and unexpose, one of annotate) edit one domain for 60
// s while other tools edit it too: first a `virsh edit`-style writer (dumpxml,
// change, define) that adds a word to <description> each time, then five
// writers of `virsh metadata --config`, each edit a new element. libvirtd 9.0
// crashed within 45 s when each nestvirt process subscribed to domain events
// and cancelled the subscription as it exited, and 5 to 14 of 200 racing
// definitions were lost with every nestvirt run exiting 0.
//
// Afterwards: the daemon has the same process ID and answers; every nestvirt
// run exited 0 or 3 (a conflict it reports), none said it could not tell; and
// every other writer's edit is in the definition, or a nestvirt run said it may
// have replaced one: as many reports as lost definitions (a report cannot name
// a define), and each lost metadata element named by a report.
func TestTheDaemonSurvivesAndNoEditIsLostSilently(t *testing.T) {
	bin := rootBinary(t)
	name := defineDomain(t, "plain.xml")
	amd := snapshots + "amd-l0-nested/root"
	pid := daemonPID(t)
	phase := stressTime(t)

	type tally struct {
		runs, ok, reported, redoneOut, other atomic.Int64
		mu                                   sync.Mutex
		unexpected                           []string
		named                                map[string]bool // the metadata URIs reports named
		unnamed                              atomic.Int64    // reports that named none (the domain kept changing)
	}
	var nvt tally
	nvt.named = map[string]bool{}
	stressURI := regexp.MustCompile(`https://example\.com/nvstress/\d+/\d+`)
	runNV := func(args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		nvt.runs.Add(1)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		s := string(out)
		switch {
		case strings.Contains(s, "is not known"):
			nvt.other.Add(1)
			nvt.mu.Lock()
			nvt.unexpected = append(nvt.unexpected, fmt.Sprintf("%v: could not tell: %s", args, s))
			nvt.mu.Unlock()
		case code == 0:
			nvt.ok.Add(1)
		case code == 3 && strings.Contains(s, "someone else changed the domain while nestvirt defined"):
			nvt.reported.Add(1)
			nvt.mu.Lock()
			us := stressURI.FindAllString(s, -1)
			for _, u := range us {
				nvt.named[u] = true
			}
			nvt.mu.Unlock()
			if len(us) == 0 {
				nvt.unnamed.Add(1)
			}
			if os.Getenv("NESTVIRT_STRESS_VERBOSE") != "" {
				t.Logf("%v: %s", args, s)
			}
		case code == 3 && strings.Contains(s, "the definition changed while nestvirt edited it"):
			nvt.redoneOut.Add(1) // redone until it gave up: nothing of theirs replaced
		default:
			nvt.other.Add(1)
			nvt.mu.Lock()
			nvt.unexpected = append(nvt.unexpected, fmt.Sprintf("%v: exit %d: %s", args, code, s))
			nvt.mu.Unlock()
		}
	}
	loops := func(stop *atomic.Bool, wg *sync.WaitGroup) {
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					runNV("expose", name, "--root", amd)
					runNV("unexpose", name)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				runNV("annotate", name, "--runs", "kvm", "--l2", []string{"rhel9.4", "rhel10.0"}[i%2])
			}
		}()
	}
	virsh := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, "virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	}
	dumpInactive := func() string {
		out, err := virsh("dumpxml", "--inactive", name)
		if err != nil {
			t.Fatalf("virsh dumpxml: %v %s", err, out)
		}
		return string(out)
	}

	// Phase 1: a virsh edit-style writer adds word N to <description>.
	var stop atomic.Bool
	var wg sync.WaitGroup
	loops(&stop, &wg)
	desc := regexp.MustCompile(`(?s)\s*<description>.*?</description>`)
	file := filepath.Join(t.TempDir(), "edit.xml")
	defines := 0
	for end := time.Now().Add(phase); time.Now().Before(end); {
		x := dumpInactive()
		words := ""
		if m := regexp.MustCompile(`<description>(.*?)</description>`).FindStringSubmatch(x); m != nil {
			words = m[1]
		}
		defines++
		x = desc.ReplaceAllString(x, "")
		x = strings.Replace(x, "</name>", fmt.Sprintf("</name>\n  <description>%s w%d</description>", words, defines), 1)
		os.WriteFile(file, []byte(x), 0o644)
		if out, err := virsh("define", file); err != nil {
			t.Fatalf("virsh define: %v %s", err, out)
		}
	}
	stop.Store(true)
	wg.Wait()
	final := dumpInactive()
	lostDefines := 0
	for i := 1; i <= defines; i++ {
		if !regexp.MustCompile(fmt.Sprintf(`\bw%d\b`, i)).MatchString(final) {
			lostDefines++
		}
	}
	reports1, unnamed1 := nvt.reported.Load(), nvt.unnamed.Load()

	// Phase 2: five writers of virsh metadata --config, each edit its own element.
	stop.Store(false)
	loops(&stop, &wg)
	var metaEdits atomic.Int64
	var doneMu sync.Mutex
	var done []string // the URIs of the metadata edits virsh made
	var mw sync.WaitGroup
	metaEnd := time.Now().Add(phase)
	for w := 0; w < 5; w++ {
		mw.Add(1)
		go func() {
			defer mw.Done()
			for i := 0; time.Now().Before(metaEnd); i++ {
				uri := fmt.Sprintf("https://example.com/nvstress/%d/%d", w, i)
				if out, err := virsh("metadata", name, "--config", "--uri", uri, "--key", fmt.Sprintf("k%d", w), "--set", fmt.Sprintf("<e w='%d' i='%d'/>", w, i)); err != nil {
					t.Errorf("virsh metadata: %v %s", err, out)
					return
				}
				metaEdits.Add(1)
				doneMu.Lock()
				done = append(done, uri)
				doneMu.Unlock()
			}
		}()
	}
	mw.Wait()
	stop.Store(true)
	wg.Wait()
	finalMeta := dumpInactive()
	kept := strings.Count(finalMeta, "https://example.com/nvstress/")
	lostMeta := int(metaEdits.Load()) - kept
	// Each lost metadata edit by name: a report names every element it may
	// have replaced, so one that is gone and named by none was lost silently.
	var silent []string
	for _, u := range done {
		if !strings.Contains(finalMeta, `"`+u+`"`) && !strings.Contains(finalMeta, "'"+u+"'") && !nvt.named[u] {
			silent = append(silent, u)
		}
	}
	reports2 := nvt.reported.Load() - reports1

	after, err := os.ReadFile("/run/libvirtd.pid")
	if err != nil || strings.TrimSpace(string(after)) != strconv.Itoa(pid) || syscallKill(pid) != nil {
		t.Errorf("libvirtd was pid %d before; after: %q (%v): the daemon died or was restarted", pid, after, err)
	}
	if out, err := virsh("version", "--daemon"); err != nil {
		t.Errorf("the daemon does not answer: %v %s", err, out)
	}
	t.Logf("%d nestvirt runs: %d done, %d reported a change they may have replaced, %d redone until they gave up, %d other", nvt.runs.Load(), nvt.ok.Load(), nvt.reported.Load(), nvt.redoneOut.Load(), nvt.other.Load())
	t.Logf("virsh define edits: %d, %d lost, %d reports; virsh metadata edits: %d, %d lost, %d reports", defines, lostDefines, reports1, metaEdits.Load(), lostMeta, reports2)
	for _, u := range nvt.unexpected {
		t.Errorf("unexpected: %s", u)
	}
	if lostDefines > int(reports1) {
		t.Errorf("%d virsh define edits lost, and only %d nestvirt runs said they may have replaced one", lostDefines, reports1)
	}
	// A report that could name nothing (the domain kept changing as it was
	// read back) stands for one lost edit.
	if unnamed := nvt.unnamed.Load() - unnamed1; int64(len(silent)) > unnamed {
		t.Errorf("%d of %d lost virsh metadata edits were named by none of the %d reports (%d of which could name nothing): %v", len(silent), lostMeta, reports2, unnamed, silent)
	}
	if nvt.ok.Load() == 0 || defines < 20 || metaEdits.Load() < 20 {
		t.Errorf("too little happened to test anything: %d runs done, %d defines, %d metadata edits", nvt.ok.Load(), defines, metaEdits.Load())
	}
}

func syscallKill(pid int) error { return syscall.Kill(pid, 0) }

// Command benchdoc writes a benchmark's result into docs/PERFORMANCE.md: the
// table of a hyperfine JSON export (mean, spread, min, max, and each command's
// ratio to the one named its yardstick), with the command that produced it, the
// date and this machine, between the markers <!-- bench:NAME --> and
// <!-- /bench:NAME -->. Used by scripts/bench-*.sh; run by hand it prints.
//
//	go run ./scripts/benchdoc -name check-no-kvm -json out.json -base systemd-detect-virt \
//	    -cmd 'bash scripts/bench-check.sh' [-notes notes.md] [-doc docs/PERFORMANCE.md]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type result struct {
	Command string    `json:"command"`
	Mean    float64   `json:"mean"`
	Stddev  *float64  `json:"stddev"`
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Times   []float64 `json:"times"`
}

func main() {
	name := flag.String("name", "", "the section's name in the document")
	jsonFiles := flag.String("json", "", "hyperfine --export-json files, comma-separated")
	base := flag.String("base", "", "yardsticks, comma-separated: each row's ratio is to the first command containing each")
	cmd := flag.String("cmd", "", "the command that produced the figures")
	notes := flag.String("notes", "", "a file of text to put under the table")
	doc := flag.String("doc", "", "the document to write into; empty prints")
	label := flag.String("label", "", "shorter names for commands: OLD=NEW pairs separated by ';'")
	flag.Parse()
	if *name == "" || *jsonFiles == "" {
		log.Fatal("benchdoc: -name and -json are required")
	}
	var rows []result
	for _, f := range strings.Split(*jsonFiles, ",") {
		b, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		var r struct{ Results []result }
		if err := json.Unmarshal(b, &r); err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		rows = append(rows, r.Results...)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "Measured %s on %s with `%s`.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), machine(), *cmd)
	fmt.Fprint(&out, table(rows, *base, labels(*label)))
	if *notes != "" {
		b, err := os.ReadFile(*notes)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(&out, "\n%s", strings.TrimRight(string(b), "\n")+"\n")
	}
	if *doc == "" {
		os.Stdout.Write(out.Bytes())
		return
	}
	if err := replace(*doc, *name, out.String()); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote the %s section of %s\n", *name, *doc)
}

// labels are the renamings in the order given: the longer paths first.
func labels(s string) [][2]string {
	var out [][2]string
	for _, p := range strings.Split(s, ";") {
		if k, v, ok := strings.Cut(p, "="); ok && k != "" {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// table is the rows in milliseconds, with medians (these machines are noisy:
// the median of runs side by side is the figure to compare) and each row's
// ratio to every yardstick named.
func table(rows []result, bases string, names [][2]string) string {
	var refs []int
	for _, base := range strings.Split(bases, ",") {
		for i, r := range rows {
			if base != "" && strings.Contains(r.Command, base) {
				refs = append(refs, i)
				break
			}
		}
	}
	var b strings.Builder
	b.WriteString("| command | median [ms] | mean ± σ [ms] | min | max |")
	for _, ref := range refs {
		fmt.Fprintf(&b, " × %s |", short(rows[ref].Command, names))
	}
	b.WriteString("\n|:---|---:|---:|---:|---:|")
	for range refs {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		sd := 0.0
		if r.Stddev != nil {
			sd = *r.Stddev
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s ± %s | %s | %s |", short(r.Command, names), ms(r.Median), ms(r.Mean), ms(sd), ms(r.Min), ms(r.Max))
		for _, ref := range refs {
			fmt.Fprintf(&b, " %.2f |", r.Median/rows[ref].Median)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// short drops the temporary directory a command was built into.
func short(c string, names [][2]string) string {
	for _, kv := range names {
		c = strings.ReplaceAll(c, kv[0], kv[1])
	}
	f := strings.Fields(c)
	for i, w := range f {
		if strings.HasPrefix(w, "/tmp/") {
			f[i] = filepath.Base(w)
		}
	}
	return strings.Join(f, " ")
}

func ms(s float64) string {
	v := s * 1000
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", math.Round(v))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// machine says what this machine is: CPUs, model, KVM, hypervisor.
func machine() string {
	n := strings.TrimSpace(run("nproc"))
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kvm := "no /dev/kvm"
	if _, err := os.Stat("/dev/kvm"); err == nil {
		kvm = "/dev/kvm present"
	}
	virt := strings.TrimSpace(run("systemd-detect-virt"))
	return fmt.Sprintf("%s vCPUs (%s), %s, systemd-detect-virt says %s", n, model, kvm, virt)
}

func run(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// replace puts body between the section's markers, adding the section at the
// end when the document has none.
func replace(doc, name, body string) error {
	b, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	open, end := "<!-- bench:"+name+" -->", "<!-- /bench:"+name+" -->"
	s := string(b)
	i, j := strings.Index(s, open), strings.Index(s, end)
	block := open + "\n" + body + end
	switch {
	case i >= 0 && j > i:
		s = s[:i] + block + s[j+len(end):]
	default:
		s = strings.TrimRight(s, "\n") + "\n\n" + block + "\n"
	}
	tmp := doc + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, doc)
}

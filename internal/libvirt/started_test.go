package libvirt

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/fsroot"
)

// TestStartedReadsTheDaemonsStartTime: libvirtd's start from /proc (boot time
// plus its start in ticks), virtqemud's where libvirtd has no pid file, and
// nothing from a pid file that names no process or a command name that
// hides the fields.
func TestStartedReadsTheDaemonsStartTime(t *testing.T) {
	stat := "cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"
	// pid (comm) state ppid ... field 22 is starttime: 12345 ticks.
	proc := func(comm string) string {
		return "4242 (" + comm + ") S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 18 0 12345 1000 10\n"
	}
	tests := []struct {
		name   string
		files  map[string]string
		want   time.Time
		daemon string
		ok     bool
	}{
		{"libvirtd", map[string]string{"proc/stat": stat, "run/libvirtd.pid": "4242\n", "proc/4242/stat": proc("libvirtd")}, time.Unix(1700000123, 450000000), "libvirtd", true},
		{"virtqemud", map[string]string{"proc/stat": stat, "run/virtqemud.pid": "4242", "proc/4242/stat": proc("virt qemud) x")}, time.Unix(1700000123, 450000000), "virtqemud", true},
		{"a pid file naming no process", map[string]string{"proc/stat": stat, "run/libvirtd.pid": "../../etc"}, time.Time{}, "", false},
		{"no boot time", map[string]string{"proc/stat": "cpu 1\n", "run/libvirtd.pid": "4242", "proc/4242/stat": proc("libvirtd")}, time.Time{}, "", false},
		{"no daemon", map[string]string{"proc/stat": stat}, time.Time{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, data := range tt.files {
				p := filepath.Join(dir, rel)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			root, err := fsroot.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			got, daemon, ok := Started(root)
			if !got.Equal(tt.want) || daemon != tt.daemon || ok != tt.ok {
				t.Errorf("%v %q %v, want %v %q %v", got, daemon, ok, tt.want, tt.daemon, tt.ok)
			}
		})
	}
}

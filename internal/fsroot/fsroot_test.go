//go:build unix

package fsroot

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tree makes a directory with files (path -> content) and returns it with an
// "outside" directory beside it, holding a secret.
func tree(t *testing.T, files map[string]string) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{root, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("root:$6$hash:19000::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, outside
}

func open(t *testing.T, dir string) *Dir {
	t.Helper()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestReadsNeverLeaveTheTree(t *testing.T) {
	root, outside := tree(t, map[string]string{"etc/hostname": "h\n"})
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "etc/os-release")) // absolute, outside
	os.Symlink("../../outside/secret", filepath.Join(root, "etc/relative"))             // relative, outside
	os.Symlink(outside, filepath.Join(root, "linkdir"))                                 // a directory outside
	d := open(t, root)
	for _, rel := range []string{"etc/os-release", "etc/relative", "linkdir/secret", "../outside/secret", "etc/../../outside/secret"} {
		data, _, err := d.ReadFile(rel, 1<<20)
		if err == nil || bytes.Contains(data, []byte("hash")) {
			t.Errorf("%s: read %q, err %v: escaped the tree", rel, data, err)
		}
		// A planted link is named as one (cleaned ".." paths just do not exist).
		if !strings.Contains(rel, "..") && (!errors.Is(err, ErrEscapes) || !strings.Contains(err.Error(), filepath.Join(root, rel)+": a symlink")) {
			t.Errorf("%s: %v, want ErrEscapes naming the file", rel, err)
		}
	}
	for _, op := range []func() error{
		func() error { _, err := d.Stat("etc/os-release"); return err },
		func() error { return d.WriteAtomic("linkdir/new", []byte("x"), WriteOptions{Mode: 0o644}) },
		func() error { return d.CreateNew("linkdir/new2", []byte("x"), 0o644) },
		func() error { return d.MkdirAll("linkdir/sub", 0o755) },
	} {
		if err := op(); !errors.Is(err, ErrEscapes) {
			t.Errorf("%v, want ErrEscapes", err)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("a write went through the link")
	}
	if data, _, err := d.ReadFile("etc/hostname", 1<<20); err != nil || string(data) != "h\n" {
		t.Errorf("plain read: %q %v", data, err)
	}
}

func TestALiveTreeFollowsAbsoluteSymlinksInsideItself(t *testing.T) {
	root, _ := tree(t, map[string]string{"usr/lib/os-release": "ID=rhel\n"})
	os.Symlink("/usr/lib/os-release", filepath.Join(root, "etc-os-release"))
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.Symlink("/usr/lib", filepath.Join(root, "etc/lib"))
	d := open(t, root)
	if _, _, err := d.ReadFile("etc-os-release", 100); err == nil {
		t.Error("a snapshot tree followed an absolute symlink")
	}
	d.live = true // as for "/", where an absolute link cannot leave the tree
	for _, rel := range []string{"etc-os-release", "etc/lib/os-release"} {
		if data, _, err := d.ReadFile(rel, 100); err != nil || string(data) != "ID=rhel\n" {
			t.Errorf("%s: %q %v", rel, data, err)
		}
	}
}

func TestSpecialFilesAreRefusedWithoutHanging(t *testing.T) {
	root, _ := tree(t, map[string]string{"proc/cpuinfo": strings.Repeat("x", 2000)})
	fifo := filepath.Join(root, "etc/os-release")
	os.MkdirAll(filepath.Dir(fifo), 0o755)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	d := open(t, root)
	done := make(chan error, 1)
	go func() { _, _, err := d.ReadFile("etc/os-release", 100); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "FIFO") {
			t.Errorf("FIFO: %s", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO hung")
	}
	if _, _, err := d.ReadFile("proc", 100); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: %s", err)
	}
	if _, _, err := d.ReadFile("proc/cpuinfo", 100); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large file: %s", err)
	}
	if err := d.OpenDevice("proc/cpuinfo", os.O_RDWR); err == nil {
		t.Error("a plain file opened as a device")
	}
}

func TestWritesNeverLeaveTheTree(t *testing.T) {
	root, outside := tree(t, map[string]string{})
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.Symlink(outside, filepath.Join(root, "etc/modprobe.d"))                        // directory outside
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "etc/kvm.conf")) // file outside
	d := open(t, root)
	for _, rel := range []string{"etc/modprobe.d/kvm.conf", "etc/kvm.conf", "../outside/x"} {
		if err := d.WriteAtomic(rel, []byte("options kvm_intel nested=1\n"), WriteOptions{Backup: true}); err == nil {
			t.Errorf("%s: written", rel)
		}
	}
	ents, _ := os.ReadDir(outside)
	if len(ents) != 1 {
		t.Errorf("outside holds %v", ents)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); !bytes.Contains(b, []byte("hash")) {
		t.Error("the outside file changed")
	}
}

func TestConditionalWriteRefusesAChangedFile(t *testing.T) {
	root, _ := tree(t, map[string]string{"etc/kvm.conf": "a\n"})
	d := open(t, root)
	v, err := d.ReadVersion("etc/kvm.conf", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "etc/kvm.conf"), []byte("a\nb\n"), 0o644)
	if err := d.WriteAtomic("etc/kvm.conf", []byte("new\n"), WriteOptions{Expect: &v}); !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/kvm.conf")); string(b) != "a\nb\n" {
		t.Errorf("the other writer's change was lost: %q", b)
	}
	// A file that must still be absent.
	absent, _ := d.ReadVersion("etc/new.conf", 100)
	os.WriteFile(filepath.Join(root, "etc/new.conf"), []byte("theirs\n"), 0o644)
	if err := d.WriteAtomic("etc/new.conf", []byte("ours\n"), WriteOptions{Expect: &absent}); !errors.Is(err, ErrChanged) {
		t.Errorf("created over a file that appeared: %s", err)
	}
}

func TestAChangeBetweenTheCheckAndTheRenameIsReturnedNotLost(t *testing.T) {
	root, _ := tree(t, map[string]string{"etc/kvm.conf": "a\n"})
	d := open(t, root)
	d.hooks = &hooks{step: func(s string) error {
		if s == "checked" {
			f, _ := os.OpenFile(filepath.Join(root, "etc/kvm.conf"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("appended\n")
			f.Close()
		}
		return nil
	}}
	err := d.WriteAtomic("etc/kvm.conf", []byte("new\n"), WriteOptions{})
	// The file exchanged out is not what was read: it goes back, with the
	// append, and the caller plans again from it.
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %s", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/kvm.conf")); string(b) != "a\nappended\n" {
		t.Errorf("the file holds %q; the append is lost", b)
	}
}

// TestAWriteThroughAnOldDescriptorLandsInTheBackup: a writer that opened the file
// before the rename and writes after every check writes into the old file; the
// old file is the backup, so the write is kept there, not lost with an unlinked
// inode.
func TestAWriteThroughAnOldDescriptorLandsInTheBackup(t *testing.T) {
	root, _ := tree(t, map[string]string{"etc/kvm.conf": "a\n"})
	d := open(t, root)
	late, err := os.OpenFile(filepath.Join(root, "etc/kvm.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := d.WriteAtomic("etc/kvm.conf", []byte("new\n"), WriteOptions{Backup: true}); err != nil {
		t.Fatal(err)
	}
	late.WriteString("late\n")
	if b, _ := os.ReadFile(filepath.Join(root, "etc/kvm.conf"+BackupSuffix)); string(b) != "a\nlate\n" {
		t.Errorf("the backup holds %q, want the old content and the late write", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/kvm.conf")); string(b) != "new\n" {
		t.Errorf("the file holds %q", b)
	}
}

func TestBackupsKeepTheFirstAndTheLastVersionWithOwnerAndMode(t *testing.T) {
	root, _ := tree(t, map[string]string{"etc/kvm.conf": "v1\n"})
	p := filepath.Join(root, "etc/kvm.conf")
	os.Chmod(p, 0o640)
	owner := -1
	if os.Geteuid() == 0 {
		owner = 65534 // nobody: a root test proves the owner is kept
		os.Chown(p, owner, owner)
	}
	d := open(t, root)
	for _, v := range []string{"v2\n", "v3\n"} {
		if err := d.WriteAtomic("etc/kvm.conf", []byte(v), WriteOptions{Backup: true}); err != nil {
			t.Fatal(err)
		}
	}
	for file, want := range map[string]string{"etc/kvm.conf": "v3\n", "etc/kvm.conf" + OrigSuffix: "v1\n", "etc/kvm.conf" + BackupSuffix: "v2\n"} {
		full := filepath.Join(root, file)
		b, err := os.ReadFile(full)
		if err != nil || string(b) != want {
			t.Errorf("%s = %q (%v), want %q", file, b, err, want)
		}
		st, _ := os.Stat(full)
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %v, want 0640", file, st.Mode().Perm())
		}
		if owner >= 0 && Owner(st) != owner {
			t.Errorf("%s owner %d, want %d", file, Owner(st), owner)
		}
	}
	if temps, _ := filepath.Glob(filepath.Join(root, "etc/.*")); len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}

// TestABackupThatIsTheFileItselfLeavesNoTemporary: a run killed after linking
// its backup and before its rename leaves the backup a hard link of the file;
// the next backup's rename of one link over another of the same file does
// nothing, and left ".kvm.conf.nestvirt-bak.nestvirt-*" behind (found by
// killing real runs of enable).
func TestABackupThatIsTheFileItselfLeavesNoTemporary(t *testing.T) {
	root, _ := tree(t, map[string]string{"etc/kvm.conf": "v1\n"})
	p := filepath.Join(root, "etc/kvm.conf")
	if err := os.Link(p, p+BackupSuffix); err != nil {
		t.Fatal(err)
	}
	d := open(t, root)
	if err := d.WriteAtomic("etc/kvm.conf", []byte("v2\n"), WriteOptions{Backup: true}); err != nil {
		t.Fatal(err)
	}
	if temps, _ := filepath.Glob(filepath.Join(root, "etc/.*")); len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
	if b, _ := os.ReadFile(p + BackupSuffix); string(b) != "v1\n" {
		t.Errorf("the backup holds %q", b)
	}
}

// TestACrashAtAnyStepOnAVolatileFileSystemLeavesOldOrNew stops a write at each step
// and then drops every byte that was not synced, as a power cut does to the page
// cache. The file and its backups must be whole: old or new, never empty or cut.
// Without the syncs, renamed files lose their content here.
func TestACrashAtAnyStepOnAVolatileFileSystemLeavesOldOrNew(t *testing.T) {
	for _, at := range []string{"created", "written", "synced", "backed-up", "checked", "renamed", "dir-synced", ""} {
		t.Run("crash at "+at, func(t *testing.T) {
			old, nw := strings.Repeat("old line\n", 100), strings.Repeat("new line\n", 120)
			root, _ := tree(t, map[string]string{"etc/kvm.conf": old, "etc/kvm.conf" + BackupSuffix: "older\n"})
			d := open(t, root)
			synced := map[uint64]int64{} // inode -> bytes made durable
			for _, f := range []string{"etc/kvm.conf", "etc/kvm.conf" + BackupSuffix} {
				st, _ := os.Stat(filepath.Join(root, f))
				synced[st.Sys().(*syscall.Stat_t).Ino] = st.Size()
			}
			crash := errors.New("crash")
			d.hooks = &hooks{
				sync: func(f *os.File) error {
					if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
						synced[st.Sys().(*syscall.Stat_t).Ino] = st.Size()
					}
					return f.Sync()
				},
				step: func(s string) error {
					if s == at {
						return crash
					}
					return nil
				},
			}
			err := d.WriteAtomic("etc/kvm.conf", []byte(nw), WriteOptions{Backup: true})
			if at != "" && !errors.Is(err, crash) {
				t.Fatalf("err = %s", err)
			}
			// The power cut: unsynced bytes are gone.
			filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
				if err != nil || !e.Type().IsRegular() {
					return nil
				}
				st, _ := os.Stat(p)
				n, ok := synced[st.Sys().(*syscall.Stat_t).Ino]
				if !ok {
					n = 0
				}
				if n < st.Size() {
					os.Truncate(p, n)
				}
				return nil
			})
			check := func(file string, allowed ...string) {
				b, err := os.ReadFile(filepath.Join(root, file))
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				for _, a := range allowed {
					if string(b) == a {
						return
					}
				}
				t.Errorf("%s holds %d bytes, neither old nor new", file, len(b))
			}
			check("etc/kvm.conf", old, nw)
			check("etc/kvm.conf"+BackupSuffix, "older\n", old)
		})
	}
}

// TestAWriteKilledAtAnyStepLeavesOldOrNew: a child process writes and kills itself
// with SIGKILL at one step; the file holds the old content or the new, never a
// mix, and the backup holds the old one.
func TestAWriteKilledAtAnyStepLeavesOldOrNew(t *testing.T) {
	if dir := os.Getenv("NESTVIRT_CRASH_DIR"); dir != "" {
		at := os.Getenv("NESTVIRT_CRASH_AT")
		d, err := Open(dir)
		if err != nil {
			os.Exit(3)
		}
		d.hooks = &hooks{step: func(s string) error {
			if s == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
			return nil
		}}
		d.WriteAtomic("kvm.conf", []byte(strings.Repeat("new content\n", 50000)), WriteOptions{Backup: true})
		os.Exit(0)
	}
	oldContent := strings.Repeat("old content\n", 40000)
	newContent := strings.Repeat("new content\n", 50000)
	for _, at := range []string{"created", "written", "synced", "backed-up", "checked", "renamed", "dir-synced", "never"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "kvm.conf")
			os.WriteFile(path, []byte(oldContent), 0o644)
			cmd := exec.Command(os.Args[0], "-test.run", "^TestAWriteKilledAtAnyStepLeavesOldOrNew$")
			cmd.Env = append(os.Environ(), "NESTVIRT_CRASH_DIR="+dir, "NESTVIRT_CRASH_AT="+at)
			err := cmd.Run()
			killed := err != nil && strings.Contains(err.Error(), "killed")
			if at != "never" && !killed {
				t.Fatalf("the child was not killed at %s: %v", at, err)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatalf("file gone: %v", rerr)
			}
			if s := string(got); s != oldContent && s != newContent {
				t.Fatalf("killed at %s: the file is a mix (%d bytes)", at, len(got))
			}
			wantNew := at == "renamed" || at == "dir-synced" || at == "never"
			if (string(got) == newContent) != wantNew {
				t.Errorf("killed at %s: new content %v", at, string(got) == newContent)
			}
			for _, b := range []string{BackupSuffix, OrigSuffix} {
				if data, err := os.ReadFile(path + b); err == nil && string(data) != oldContent {
					t.Errorf("%s is not the old content", b)
				}
			}
		})
	}
}

// TestAFileRenamedOverAfterTheCheckIsPutBack: another writer replaces the file
// (as sed -i does: a new file renamed over it) after nestvirt's last check and
// before its own file takes the name: theirs stays, nestvirt's write is refused
// as changed, and nothing is left behind. A plain rename lost their file here.
func TestAFileRenamedOverAfterTheCheckIsPutBack(t *testing.T) {
	root, _ := tree(t, map[string]string{"etc/kvm.conf": "a\n"})
	d := open(t, root)
	conf := filepath.Join(root, "etc/kvm.conf")
	d.hooks = &hooks{step: func(s string) error {
		if s == "checked" {
			tmp := conf + ".sed"
			os.WriteFile(tmp, []byte("a\ntheirs\n"), 0o644)
			os.Rename(tmp, conf)
		}
		return nil
	}}
	err := d.WriteAtomic("etc/kvm.conf", []byte("ours\n"), WriteOptions{})
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want ErrChanged", err)
	}
	if b, _ := os.ReadFile(conf); string(b) != "a\ntheirs\n" {
		t.Errorf("their file was replaced: %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(root, "etc/.kvm.conf.nestvirt-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	// A file created after the check is not replaced either.
	d.hooks = &hooks{step: func(s string) error {
		if s == "checked" {
			os.WriteFile(filepath.Join(root, "etc/new.conf"), []byte("theirs\n"), 0o644)
		}
		return nil
	}}
	if err := d.WriteAtomic("etc/new.conf", []byte("ours\n"), WriteOptions{}); !errors.Is(err, ErrChanged) {
		t.Errorf("a file created meanwhile: %s", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/new.conf")); string(b) != "theirs\n" {
		t.Errorf("the file created meanwhile was replaced: %q", b)
	}
}

// TestARewrittenFileKeepsItsExtendedAttributes: a file nestvirt rewrites keeps
// its user.* attributes (and security.selinux, on RHEL, the same way); others
// are not copied.
func TestARewrittenFileKeepsItsExtendedAttributes(t *testing.T) {
	root, _ := tree(t, map[string]string{"etc/kvm.conf": "a\n"})
	conf := filepath.Join(root, "etc/kvm.conf")
	if err := unix.Setxattr(conf, "user.nestvirt-test", []byte("kept"), 0); err != nil {
		t.Fatalf("the test's file system has no user xattrs (ext4, xfs and tmpfs since Linux 6.6 do): %s", err)
	}
	d := open(t, root)
	if err := d.WriteAtomic("etc/kvm.conf", []byte("b\n"), WriteOptions{Backup: true}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(conf, "user.nestvirt-test", buf)
	if err != nil || string(buf[:n]) != "kept" {
		t.Errorf("user.nestvirt-test = %q, %v", buf[:n], err)
	}
}

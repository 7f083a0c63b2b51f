package rootexec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallPathNamesEveryPathOthersCouldChange: a directory another program
// runs everything from must be writable by its owner alone, a sticky bit
// included (others could add files of their own); the installed file too.
// Each problem names its path. (Ownership by another user needs root to set
// up: the integration tests cover it.)
func TestInstallPathNamesEveryPathOthersCouldChange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dir   os.FileMode
		sub   os.FileMode
		file  os.FileMode
		n     int
		wants []string
	}{
		{"all 0755", 0o755, 0o755, 0o755, 0, nil},
		{"qemu.d 0777", 0o755, 0o777, 0o755, 1, []string{"qemu.d is writable by its group or others (mode -rwxrwxrwx)"}},
		{"qemu.d 0775", 0o755, 0o775, 0o755, 1, []string{"qemu.d is writable by its group or others"}},
		{"qemu.d 1777", 0o755, os.ModeSticky | 0o777, 0o755, 1, []string{"qemu.d is writable by its group or others", "the sticky bit does not help"}},
		{"hooks 0777 and the hook 0666", 0o777, 0o755, 0o666, 2, []string{"hooks is writable", "nestvirt-guard is writable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hooks := filepath.Join(t.TempDir(), "hooks")
			sub := filepath.Join(hooks, "qemu.d")
			file := filepath.Join(sub, "nestvirt-guard")
			os.MkdirAll(sub, 0o755)
			os.WriteFile(file, []byte("#!/bin/sh\n"), 0o755)
			os.Chmod(file, tc.file)
			os.Chmod(sub, tc.sub)
			os.Chmod(hooks, tc.dir)
			errs := InstallPath([]string{hooks, sub}, file, "libvirt runs")
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if len(errs) != tc.n {
				t.Errorf("%d problems: %q", len(errs), all)
			}
			for _, w := range tc.wants {
				if !strings.Contains(strings.Join(all, "\n"), w) {
					t.Errorf("no problem says %q: %q", w, all)
				}
			}
		})
	}
	// What does not exist yet is no problem: install creates it.
	if errs := InstallPath([]string{filepath.Join(t.TempDir(), "new"), filepath.Join(t.TempDir(), "new", "qemu.d")}, "", "libvirt runs"); len(errs) > 0 {
		t.Errorf("a directory to be created: %v", errs)
	}
}

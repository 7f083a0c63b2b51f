// Package hostconf changes the host: the KVM module's nested (and IBM Z hpage)
// setting in modprobe.d, and reloading the module when that is safe. Every file
// write is atomic and keeps the previous version as a backup beside it; the module
// is loaded behind an interface so tests and snapshot trees never touch the kernel.
package hostconf

import (
	"fmt"
	"os"
	"path/filepath"
)

// BackupSuffix names the previous version of a file nestvirt changed.
const BackupSuffix = ".nestvirt-bak"

// crashAt, when set (tests only), is called at each step of WriteAtomic so a test
// can kill the process there.
var crashAt func(step string)

func step(name string) {
	if crashAt != nil {
		crashAt(name)
	}
}

// WriteAtomic replaces path with data so that, whatever happens (a crash, a kill,
// a power cut after the final fsync), the file holds either its old content or the
// new one, never a mix: write a temporary file in the same directory, fsync it,
// keep the old file as path+BackupSuffix, rename the temporary over path, fsync the
// directory. The file keeps its mode (0644 for a new one).
func WriteAtomic(path string, data []byte) error { return writeAtomic(path, data, 0, true) }

// WriteAtomicMode writes like WriteAtomic with the given mode and no backup: for
// files whose copy beside them would itself be acted on (a hook directory runs
// every executable in it).
func WriteAtomicMode(path string, data []byte, mode os.FileMode) error {
	return writeAtomic(path, data, mode, false)
}

func writeAtomic(path string, data []byte, forceMode os.FileMode, backup bool) error {
	dir := filepath.Dir(path)
	mode := os.FileMode(0o644)
	old, err := os.ReadFile(path)
	existed := err == nil
	if st, serr := os.Stat(path); serr == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file; nothing written", path)
		}
		mode = st.Mode().Perm()
	} else if !os.IsNotExist(serr) {
		return fmt.Errorf("%s: %w", path, serr)
	}
	if forceMode != 0 {
		mode = forceMode
	}
	if err != nil && existed {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".nestvirt-*")
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	tmpName := tmp.Name()
	cleanup := func() { os.Remove(tmpName) }
	step("created")
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		cleanup()
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	step("written")
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		cleanup()
		return fmt.Errorf("syncing %s: %w", tmpName, err)
	}
	step("synced")
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		cleanup()
		return err
	}
	if err := tmp.Close(); err != nil {
		cleanup()
		return err
	}
	if existed && backup {
		// The backup is itself written atomically: a crash leaves the old backup or
		// the new one, and path is untouched until the rename below.
		if err := writeBackup(path+BackupSuffix, old, mode); err != nil {
			cleanup()
			return err
		}
	}
	step("backed-up")
	if err := os.Rename(tmpName, path); err != nil {
		cleanup()
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	step("renamed")
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("syncing %s: %w", dir, err)
		}
	}
	step("dir-synced")
	return nil
}

func writeBackup(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".nestvirt-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the backup %s: %w", path, err)
	}
	tmp.Chmod(mode)
	tmp.Close()
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing the backup %s: %w", path, err)
	}
	return nil
}

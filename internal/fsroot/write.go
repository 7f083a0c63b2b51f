package fsroot

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// Backup suffixes: the file as it was before nestvirt first changed it (written
// once, never overwritten), and as it was before the latest change.
const (
	OrigSuffix   = ".nestvirt-orig"
	BackupSuffix = ".nestvirt-bak"
)

// ErrChanged is returned when a file is no longer what the caller read: someone
// else changed it in between. Nothing was written.
var ErrChanged = errors.New("changed by someone else since it was read")

// RaceError says the file changed between the last check and the rename: the new
// content is in place, and Lost holds what the other writer had added to the old
// file. The caller should re-apply its edit to Lost and write again.
type RaceError struct {
	Path string
	Lost []byte
}

func (e *RaceError) Error() string {
	return fmt.Sprintf("%s was changed by someone else while nestvirt replaced it", e.Path)
}

// Version is a file as read: whether it existed, its content and identity.
type Version struct {
	Exists  bool
	Content []byte
	Mode    fs.FileMode
	info    fs.FileInfo
}

// ReadVersion reads rel for a later conditional write. A missing file is a Version
// that does not exist; anything but a regular file is an error.
func (d *Dir) ReadVersion(rel string, max int64) (_ Version, err error) {
	defer func() { err = d.confine(rel, err) }()
	if st, err := d.Lstat(rel); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return Version{}, fmt.Errorf("%s is a symlink; nestvirt edits only regular files", d.Real(rel))
	}
	data, st, err := d.ReadFile(rel, max)
	if errors.Is(err, fs.ErrNotExist) {
		return Version{}, nil
	}
	if err != nil {
		return Version{}, err
	}
	return Version{Exists: true, Content: data, Mode: st.Mode().Perm(), info: st}, nil
}

// same reports whether cur is still the version v: both absent, or the same file
// (inode) with the same content.
func (v Version) same(cur Version) bool {
	if v.Exists != cur.Exists {
		return false
	}
	if !v.Exists {
		return true
	}
	return os.SameFile(v.info, cur.info) && bytes.Equal(v.Content, cur.Content)
}

// WriteOptions shape an atomic write.
type WriteOptions struct {
	// Mode of a new file; an existing file keeps its mode and owner.
	Mode fs.FileMode
	// Expect, when set, makes the write conditional: ErrChanged unless the file is
	// still this version immediately before the rename.
	Expect *Version
	// Backup keeps rel+OrigSuffix (once) and rel+BackupSuffix (each time).
	Backup bool
	// TempDir holds the temporary file instead of rel's own directory (same file
	// system): for directories whose every file is acted on (libvirt's hook
	// directories run each executable in them).
	TempDir string
	// Max bounds what is read of the file for the checks.
	Max int64
}

// Hooks let tests stop a write at each step and see what was synced.
var (
	stepHook func(step string) error
	syncFile = func(f *os.File) error { return f.Sync() }
)

func step(s string) error {
	if stepHook != nil {
		return stepHook(s)
	}
	return nil
}

// WriteAtomic replaces rel with data so that, whatever happens (a crash, a kill, a
// power cut), rel holds its old content or the new one, never a mix: a temporary
// file (exclusive, not executable, mode 0600 until complete) is written and synced,
// given the old file's mode and owner, backups are written the same way, and it is
// renamed over rel; then the directory is synced.
func (d *Dir) WriteAtomic(rel string, data []byte, o WriteOptions) (err error) {
	defer func() { err = d.confine(rel, err) }()
	if o.Max == 0 {
		o.Max = 64 << 20
	}
	cur, err := d.ReadVersion(rel, o.Max)
	if err != nil {
		return err
	}
	if o.Expect != nil && !o.Expect.same(cur) {
		return fmt.Errorf("%s: %w", d.Real(rel), ErrChanged)
	}
	mode := o.Mode
	if mode == 0 {
		mode = 0o644
	}
	if cur.Exists {
		mode = cur.Mode
	}
	dir := path.Dir(rel)
	tmpDir := dir
	if o.TempDir != "" {
		tmpDir = o.TempDir
	}
	if o.Backup && cur.Exists {
		if _, err := d.Lstat(rel + OrigSuffix); errors.Is(err, fs.ErrNotExist) {
			if err := d.writeTemp(path.Join(dir, path.Base(rel)+OrigSuffix), dir, cur.Content, mode, cur.info); err != nil {
				return fmt.Errorf("writing the first backup: %w", err)
			}
		}
		if err := d.linkBackup(rel, cur, mode); err != nil {
			return fmt.Errorf("writing the backup: %w", err)
		}
	}
	if err := step("backed-up"); err != nil {
		return err
	}
	tmp, err := d.createTemp(tmpDir, path.Base(rel), data, mode, cur.info)
	if err != nil {
		return err
	}
	// The last check, as close to the rename as it can be; the old file stays open
	// so a change that slips in between is seen afterwards, not lost.
	var old *os.File
	if cur.Exists {
		if old, err = d.root.Open(d.resolve(rel)); err != nil {
			d.Remove(tmp)
			return err
		}
		defer old.Close()
	}
	now, err := d.ReadVersion(rel, o.Max)
	if err == nil && !cur.same(now) {
		err = fmt.Errorf("%s: %w", d.Real(rel), ErrChanged)
	}
	if err == nil {
		err = step("checked")
	}
	if err != nil {
		d.Remove(tmp)
		return err
	}
	if err := d.root.Rename(name(tmp), d.resolve(rel)); err != nil {
		d.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", d.Real(rel), err)
	}
	if err := step("renamed"); err != nil {
		return err
	}
	// Read the old file back at once: a writer that opened it before the rename
	// writes within microseconds, and the sooner this looks the less can land
	// after it (what does lands in the backup, the old file itself).
	var race error
	if old != nil {
		after, err := io.ReadAll(io.NewSectionReader(old, 0, o.Max+1))
		if err == nil && !bytes.Equal(after, cur.Content) {
			race = &RaceError{Path: d.Real(rel), Lost: after}
		}
	}
	if err := d.syncDir(dir); err != nil {
		return err
	}
	if err := step("dir-synced"); err != nil {
		return err
	}
	return race
}

// writeTemp writes data to rel atomically (a temporary file beside it, renamed).
func (d *Dir) writeTemp(rel, dir string, data []byte, mode fs.FileMode, owner fs.FileInfo) error {
	tmp, err := d.createTemp(dir, path.Base(rel), data, mode, owner)
	if err != nil {
		return err
	}
	if err := d.root.Rename(name(tmp), name(rel)); err != nil {
		d.Remove(tmp)
		return err
	}
	return d.syncDir(dir)
}

// linkBackup keeps the file being replaced as rel+BackupSuffix: the old file
// itself, hard-linked under that name, so a writer that opened it before the
// rename and writes after it writes into the backup rather than into an unlinked
// file nobody can read. Where the file system cannot link, a copy is written.
func (d *Dir) linkBackup(rel string, cur Version, mode fs.FileMode) error {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	dir := path.Dir(rel)
	tmp := path.Join(dir, "."+path.Base(rel)+BackupSuffix+".nestvirt-"+hex.EncodeToString(rnd[:]))
	if err := d.root.Link(d.resolve(rel), name(tmp)); err != nil {
		return d.writeTemp(rel+BackupSuffix, dir, cur.Content, mode, cur.info)
	}
	if err := d.root.Rename(name(tmp), name(rel+BackupSuffix)); err != nil {
		d.Remove(tmp)
		return err
	}
	return d.syncDir(dir)
}

// createTemp writes data into a new hidden file in dir and syncs it; it returns
// the file's path. The file is created 0600 and only given mode (and owner) once
// its content is complete and synced.
func (d *Dir) createTemp(dir, base string, data []byte, mode fs.FileMode, owner fs.FileInfo) (string, error) {
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	tmp := path.Join(dir, "."+base+".nestvirt-"+hex.EncodeToString(rnd[:]))
	f, err := d.root.OpenFile(name(tmp), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("creating a temporary file in %s: %w", d.Real(dir), err)
	}
	fail := func(err error) (string, error) {
		f.Close()
		d.Remove(tmp)
		return "", err
	}
	if err := step("created"); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(fmt.Errorf("writing %s: %w", d.Real(tmp), err))
	}
	if err := step("written"); err != nil {
		return fail(err)
	}
	if err := syncFile(f); err != nil {
		return fail(fmt.Errorf("syncing %s: %w", d.Real(tmp), err))
	}
	if err := step("synced"); err != nil {
		return fail(err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if owner != nil {
		if err := chownLike(f, owner); err != nil {
			return fail(fmt.Errorf("keeping the owner of %s: %w", d.Real(tmp), err))
		}
	}
	if err := f.Close(); err != nil {
		d.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// RemoveTemps removes the temporary files a killed write of rel left in dir
// (".BASE.nestvirt-*"), and returns their paths.
func (d *Dir) RemoveTemps(dir, base string) []string {
	var removed []string
	for _, p := range d.Glob(path.Join(dir, "."+base+".nestvirt-*")) {
		if d.Remove(p) == nil {
			removed = append(removed, d.Real(p))
		}
	}
	return removed
}

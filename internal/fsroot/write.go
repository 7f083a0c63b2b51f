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
	"strings"
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

// hooks let a test stop a write at each step and see what was synced; a Dir
// in use has none.
type hooks struct {
	step func(step string) error
	sync func(f *os.File) error
}

func (d *Dir) step(s string) error {
	if d.hooks != nil && d.hooks.step != nil {
		return d.hooks.step(s)
	}
	return nil
}

func (d *Dir) syncFile(f *os.File) error {
	if d.hooks != nil && d.hooks.sync != nil {
		return d.hooks.sync(f)
	}
	return f.Sync()
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
	if err := d.step("backed-up"); err != nil {
		return err
	}
	// The old file stays open: its extended attributes go to the new one, and a
	// change that slips in after the last check is seen afterwards, not lost.
	var old *os.File
	if cur.Exists {
		if old, err = d.root.Open(d.resolve(rel)); err != nil {
			return err
		}
		defer old.Close()
	}
	tmp, err := d.createTemp(tmpDir, path.Base(rel), data, mode, cur.info, old)
	if err != nil {
		return err
	}
	// The last check, as close to the rename as it can be.
	now, err := d.ReadVersion(rel, o.Max)
	if err == nil && !cur.same(now) {
		err = fmt.Errorf("%s: %w", d.Real(rel), ErrChanged)
	}
	if err == nil {
		err = d.step("checked")
	}
	if err != nil {
		d.Remove(tmp)
		return err
	}
	if err := d.replace(tmp, rel, cur); err != nil {
		return err
	}
	if err := d.step("renamed"); err != nil {
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
	if err := d.step("dir-synced"); err != nil {
		return err
	}
	return race
}

// replace puts the complete temporary file tmp at rel, only if rel is still the
// file cur was read from: the two are exchanged in one step (renameat2), so
// what stood at rel at that instant is at tmp's name, and is compared with cur;
// if another writer renamed a file of its own over rel after the last check (as
// sed -i does), theirs is put back and ErrChanged returned, so their edit is
// never lost. A file that did not exist must still not exist (RENAME_NOREPLACE).
// Where the file system has no renameat2, rel is renamed over.
func (d *Dir) replace(tmp, rel string, cur Version) error {
	target := d.resolve(rel)
	fail := func(err error) error {
		d.Remove(tmp)
		return err
	}
	ours, err := d.root.Lstat(name(tmp))
	if err != nil {
		return fail(err)
	}
	ok, err := d.swap(tmp, filepathToSlash(target), !cur.Exists)
	switch {
	case errors.Is(err, fs.ErrExist):
		return fail(fmt.Errorf("%s: %w (created meanwhile)", d.Real(rel), ErrChanged))
	case errors.Is(err, fs.ErrNotExist) && cur.Exists:
		return fail(fmt.Errorf("%s: %w (removed meanwhile)", d.Real(rel), ErrChanged))
	case err != nil:
		return fail(fmt.Errorf("replacing %s: %w", d.Real(rel), err))
	case ok && cur.Exists:
		// The same file, and the same content: an inode freed by another
		// writer's rename can come back as the number of its next file.
		st, err := d.root.Lstat(name(tmp))
		same := err == nil && os.SameFile(st, cur.info)
		if same {
			displaced, _, err := d.ReadFile(tmp, int64(len(cur.Content))+1)
			same = err == nil && bytes.Equal(displaced, cur.Content)
		}
		if !same {
			// Someone replaced rel after the check: theirs goes back.
			if _, err := d.swap(tmp, filepathToSlash(target), false); err != nil {
				return fmt.Errorf("%s was replaced by someone else while nestvirt replaced it, and putting theirs back failed (%w): theirs is %s", d.Real(rel), err, d.Real(tmp))
			}
			// What came back must be nestvirt's own file; if a third write took
			// the name in the microseconds between, nothing is deleted: the
			// version it displaced is kept beside the file, and the caller told.
			if back, err := d.root.Lstat(name(tmp)); err != nil || !os.SameFile(back, ours) {
				kept := path.Join(path.Dir(rel), "."+path.Base(rel)+".nestvirt-conflict-"+path.Base(tmp)[len(path.Base(rel))+11:])
				if err := d.root.Rename(name(tmp), name(kept)); err != nil {
					kept = tmp
				}
				return fmt.Errorf("%s was replaced twice by others while nestvirt replaced it: it holds the latest, and the version before is kept as %s; merge them by hand", d.Real(rel), d.Real(kept))
			}
			return fail(fmt.Errorf("%s: %w (replaced meanwhile)", d.Real(rel), ErrChanged))
		}
		d.Remove(tmp) // the file replaced; a backup of it, if any, is a link of its own
		return nil
	case ok:
		return nil
	}
	if err := d.root.Rename(name(tmp), target); err != nil {
		return fail(fmt.Errorf("replacing %s: %w", d.Real(rel), err))
	}
	return nil
}

func filepathToSlash(n string) string { return strings.ReplaceAll(n, string(os.PathSeparator), "/") }

// writeTemp writes data to rel atomically (a temporary file beside it, renamed).
func (d *Dir) writeTemp(rel, dir string, data []byte, mode fs.FileMode, owner fs.FileInfo) error {
	tmp, err := d.createTemp(dir, path.Base(rel), data, mode, owner, nil)
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
	// The backup may already be this very file (a run killed after its backup
	// and before its rename left one): renaming one link over another of the
	// same file does nothing, and leaves the temporary name behind.
	if _, err := d.Lstat(tmp); err == nil {
		d.Remove(tmp)
	}
	return d.syncDir(dir)
}

// createTemp writes data into a new hidden file in dir and syncs it; it returns
// the file's path. The file is created 0600 and only given mode (and owner) once
// its content is complete and synced.
func (d *Dir) createTemp(dir, base string, data []byte, mode fs.FileMode, owner fs.FileInfo, like *os.File) (string, error) {
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
	if err := d.step("created"); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(fmt.Errorf("writing %s: %w", d.Real(tmp), err))
	}
	if like != nil {
		// Before the sync, so the label is as durable as the content.
		if err := copyXattrs(f, like); err != nil {
			return fail(err)
		}
	}
	if err := d.step("written"); err != nil {
		return fail(err)
	}
	if err := d.syncFile(f); err != nil {
		return fail(fmt.Errorf("syncing %s: %w", d.Real(tmp), err))
	}
	if err := d.step("synced"); err != nil {
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

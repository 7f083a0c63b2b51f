//go:build unix

package fsroot

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadNamed reads what a user names as a command-line file: regular files
// up to the limit, a FIFO whose writer is waiting, a device that never ends, and
// a file that is not there.
func TestReadNamed(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), n), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const max = 4096
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		// The writer opens first and writes more than one pipe buffer's
		// worth in pieces: the reader must neither drop it nor stop early.
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		for range 3 {
			f.Write(bytes.Repeat([]byte("y"), 1000))
		}
	}()
	cases := []struct {
		name    string
		file    string
		want    int
		wantErr error
	}{
		{"empty", write("empty", 0), 0, nil},
		{"small", write("small", 700), 700, nil},
		{"at the limit", write("limit", max), max, nil},
		{"one byte over", write("over", max+1), 0, ErrTooLarge},
		{"far over", write("far", 10*max), 0, ErrTooLarge},
		{"a FIFO", fifo, 3000, nil},
		{"a device without end", "/dev/zero", 0, ErrTooLarge},
		{"missing", filepath.Join(dir, "missing"), 0, fs.ErrNotExist},
		{"a directory", dir, 0, unix.EISDIR},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := ReadNamed(c.file, max)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("ReadNamed = %d bytes, %v; want %v", len(data), err, c.wantErr)
				}
				return
			}
			if err != nil || len(data) != c.want {
				t.Fatalf("ReadNamed = %d bytes, %v; want %d bytes", len(data), err, c.want)
			}
		})
	}
}

package cli

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: writes to the returned tty are what a
// program on a terminal writes, read back from master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("a pseudo-terminal is needed: %s", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestColourOnATerminalButNotADumbOne: --color auto paints on a real terminal,
// not on TERM=dumb, not with NO_COLOR, and never into a pipe.
func TestColourOnATerminalButNotADumbOne(t *testing.T) {
	for _, c := range []struct {
		env    map[string]string
		colour bool
	}{
		{map[string]string{"LANG": "C.UTF-8", "TERM": "xterm-256color"}, true},
		{map[string]string{"LANG": "C.UTF-8", "TERM": "dumb"}, false},
		{map[string]string{"LANG": "C.UTF-8", "TERM": "xterm", "NO_COLOR": "1"}, false},
	} {
		_, tty := openPTY(t)
		a := &app{stdin: strings.NewReader(""), stdout: tty, stderr: &bytes.Buffer{}, getenv: func(k string) string { return c.env[k] }, color: "auto"}
		s, err := a.style()
		if err != nil {
			t.Fatal(err)
		}
		if s.Color != c.colour {
			t.Errorf("%v: colour %v, want %v", c.env, s.Color, c.colour)
		}
		if s.Width != 100 {
			t.Errorf("%v: width %d, the terminal's is 100", c.env, s.Width)
		}
	}
	a := &app{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string { return map[string]string{"TERM": "xterm"}[k] }, color: "auto"}
	if s, _ := a.style(); s.Color {
		t.Error("colour into a pipe")
	}
}

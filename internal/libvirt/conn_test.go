package libvirt

import (
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nestvirt/nestvirt/internal/fault"
)

func TestConnectNamesWhatItTried(t *testing.T) {
	_, err := Connect(Options{URI: "qemu:///system?socket=/nonexistent/libvirt-sock"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libvirt-sock") {
		t.Errorf("missing socket: %s", err)
	}
	for _, bad := range []string{"http://example.com/", "not a uri", "ftp:///x", "qemu+carrier-pigeon://h/system"} {
		_, err := Connect(Options{URI: bad, ReadOnly: true})
		var ce *ConnectError
		if !errors.As(err, &ce) || !ce.Unknown || !errors.As(err, new(fault.Input)) {
			t.Errorf("%q: %v (want a ConnectError marked bad input)", bad, err)
		}
	}
	// A socket that is not there is the daemon's failure, not the user's.
	if _, err := Connect(Options{URI: "qemu:///system?socket=/nonexistent/libvirt-sock"}); fault.Marked(err) {
		t.Errorf("missing socket marked %v", err)
	}
	if err := NoDomain("vm1", "test:///default"); !errors.Is(err, ErrNoDomain) || !errors.As(err, new(fault.Input)) {
		t.Errorf("NoDomain: %v", err)
	}
}

// serve accepts connections on ln and hands each to fn.
func serve(t *testing.T, ln net.Listener, fn func(net.Conn)) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fn(c)
		}
	}()
}

// TestAPeerThatNeverAnswersIsATimeoutNamingTheURI: a socket (unix or TCP) that
// accepts and never answers held every command forever; now the handshake has a
// deadline and the error names the URI.
func TestAPeerThatNeverAnswersIsATimeoutNamingTheURI(t *testing.T) {
	silent := func(c net.Conn) { time.Sleep(time.Minute); c.Close() }
	sock := filepath.Join(t.TempDir(), "silent-sock")
	ul, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ul, silent)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, tl, silent)
	for _, uri := range []string{"qemu:///system?socket=" + sock, "qemu+tcp://" + tl.Addr().String() + "/system"} {
		start := time.Now()
		_, err := Connect(Options{URI: uri, Timeout: 500 * time.Millisecond})
		took := time.Since(start)
		var te *TimeoutError
		if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), uri) {
			t.Errorf("%s: err = %v", uri, err)
		}
		if took > 3*time.Second {
			t.Errorf("%s: gave up after %s, past the 500ms deadline", uri, took)
		}
	}
}

func TestADaemonThatHangsUpIsAClearError(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fake-libvirt-sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, func(c net.Conn) { c.Close() }) // dies at once, as a crashing daemon would
	done := make(chan error, 1)
	go func() {
		_, err := Connect(Options{URI: "qemu:///system?socket=" + sock, Timeout: 5 * time.Second})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), sock) {
			t.Errorf("got %s", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("connect hung on a daemon that hung up")
	}
}

// TestAConnectionErrorNamesEverySocketAndItsError: with the monolithic daemon's
// socket there but refusing, and the modular daemon's absent, the error said
// only "virtqemud-sock: no such file", the last one tried.
func TestAConnectionErrorNamesEverySocketAndItsError(t *testing.T) {
	dir := t.TempDir()
	refusing := filepath.Join(dir, "libvirt-sock")
	l, err := net.Listen("unix", refusing)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the file stays; nothing listens
	missing := filepath.Join(dir, "virtqemud-sock")
	u, _ := url.Parse("qemu:///system")
	_, err = connectLocal("qemu:///system", u, false, time.Second, []string{refusing, missing})
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("%v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, refusing+" (") || !strings.Contains(msg, "connection refused") || !strings.Contains(msg, missing+" (no such file or directory)") {
		t.Errorf("%s", msg)
	}
	if !errors.Is(ce.Err, syscall.ECONNREFUSED) {
		t.Errorf("the main error is %v, not the refusal of the socket that exists", ce.Err)
	}
}

// TestTheTestDriverIsNotThisMachine: test:/// reached on the local socket is a
// made-up host; its facts are not this machine's (this machine's host.yaml was
// reported as the test driver's host's stated facts).
func TestTheTestDriverIsNotThisMachine(t *testing.T) {
	for _, c := range []struct {
		uri, socket string
		this        bool
	}{
		{"qemu:///system", "/run/libvirt/libvirt-sock", true},
		{"qemu:///session", "/run/user/1000/libvirt/virtqemud-sock", true},
		{"test:///default", "/run/libvirt/libvirt-sock", false},
		{"qemu+ssh://h/system", "", false},
		{"qemu+tcp://h/system", "", false},
	} {
		conn := &Conn{URI: c.uri, Socket: c.socket}
		if _, this := conn.Where(); this != c.this {
			t.Errorf("%s: this machine %v", c.uri, this)
		}
	}
}

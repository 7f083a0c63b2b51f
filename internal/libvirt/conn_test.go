package libvirt

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConnectNamesWhatItTried(t *testing.T) {
	_, err := Connect(Options{URI: "qemu:///system?socket=/nonexistent/libvirt-sock"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/libvirt-sock") {
		t.Errorf("missing socket: %s", err)
	}
	for _, bad := range []string{"http://example.com/", "not a uri", "ftp:///x", "qemu+carrier-pigeon://h/system"} {
		_, err := Connect(Options{URI: bad, ReadOnly: true})
		var ce *ConnectError
		if !errors.As(err, &ce) || !ce.Unknown {
			t.Errorf("%q: %v", bad, err)
		}
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

package guard

import (
	"fmt"
	"net"
	"os"
	"time"
)

// SyslogSockets are tried in order for syslog lines.
var SyslogSockets = []string{"/dev/log", "/var/run/syslog"}

// Syslog sends one line to the local syslog socket, giving up after timeout: a
// stalled journald must not hold a VM start. log/syslog has no deadline, so the
// RFC 3164 line is written here (facility daemon, severity notice).
func Syslog(tag, msg string, timeout time.Duration) error {
	var lastErr error
	deadline := time.Now().Add(timeout)
	for _, path := range SyslogSockets {
		c, err := net.DialTimeout("unixgram", path, time.Until(deadline))
		if err != nil {
			lastErr = err
			continue
		}
		c.SetWriteDeadline(deadline)
		const priority = 3*8 + 5 // daemon.notice
		_, err = fmt.Fprintf(c, "<%d>%s %s[%d]: %s", priority, time.Now().Format(time.Stamp), tag, os.Getpid(), msg)
		c.Close()
		if err == nil {
			return nil
		}
		lastErr = err
	}
	return fmt.Errorf("syslog: %w", lastErr)
}

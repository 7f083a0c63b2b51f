package report

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Error says err on w, a line each as "nestvirt: error: ...": each error
// joined in it (a file's problems, strictyaml.Problems, among them) and each
// line of its message; cobra's "Did you mean" as one "nestvirt: hint:" line.
func Error(w io.Writer, err error) {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		for _, e := range j.Unwrap() {
			Error(w, e)
		}
		return
	}
	msg := err.Error()
	hint := ""
	if i := strings.Index(msg, "\n\nDid you mean this?"); i >= 0 {
		// cobra's suggestion: one hint, not an error per line.
		hint = strings.Join(strings.Fields(msg[i+len("\n\nDid you mean this?"):]), ", ")
		msg = msg[:i]
	}
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fmt.Fprintf(w, "nestvirt: error: %s\n", line)
	}
	if hint != "" {
		fmt.Fprintf(w, "nestvirt: hint: did you mean %s?\n", hint)
	}
}

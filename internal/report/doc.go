package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nestvirt/nestvirt/internal/doc"
)

// WriteJSON writes any document. A vms document's domains are encoded on all
// CPUs, each on its own, and streamed: a host of a thousand domains is written
// in a fraction of the time encoding/json takes to marshal, then indent, the
// whole. The bytes are encoding/json's (TestStreamedJSONIsEncodingJSONs).
func WriteJSON(w io.Writer, d any) error {
	if v, ok := d.(doc.VMsDoc); ok && len(v.VMs) > 1 {
		return streamJSON(w, v, "vms")
	}
	return JSON(w, d)
}

// streamJSON writes doc, a struct whose fields all have a json name and no
// options (the contract: every member always present), as JSON's Encoder with
// a two-space indent would, encoding the elements of the slice field named
// list in parallel.
func streamJSON(w io.Writer, doc any, list string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	v := reflect.ValueOf(doc)
	t := v.Type()
	bw.WriteString("{\n")
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		bw.WriteString("  ")
		bw.Write(appendString(nil, name))
		bw.WriteString(": ")
		f := v.Field(i)
		var err error
		if name == list && f.Kind() == reflect.Slice && f.Len() > 0 {
			err = encodeElements(bw, f)
		} else {
			err = encodeIndented(bw, f.Interface(), "  ")
		}
		if err != nil {
			return err
		}
		if i < t.NumField()-1 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// encodeIndented writes v as an Encoder with prefix and a two-space indent
// would, without its trailing newline.
func encodeIndented(w *bufio.Writer, v any, prefix string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return err
}

// encodeElements writes a non-empty slice, its elements encoded on all CPUs
// and written in order.
func encodeElements(w *bufio.Writer, s reflect.Value) error {
	n := s.Len()
	out := make([][]byte, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				var b bytes.Buffer
				enc := json.NewEncoder(&b)
				enc.SetIndent("    ", "  ")
				enc.SetEscapeHTML(false)
				errs[i] = enc.Encode(s.Index(i).Interface())
				out[i] = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
			}
		}()
	}
	wg.Wait()
	w.WriteString("[")
	for i := range n {
		if errs[i] != nil {
			return errs[i]
		}
		w.WriteString("\n    ")
		w.Write(out[i])
		if i < n-1 {
			w.WriteByte(',')
		}
	}
	_, err := w.WriteString("\n  ]")
	return err
}

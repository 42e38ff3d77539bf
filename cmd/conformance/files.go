package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/otplab/otplab/harness/report"
)

// bytesBuffer is bytes.Buffer, named for the files this command writes.
type bytesBuffer = bytes.Buffer

// writeFileAtomic writes data to name through a temporary file in the same
// directory and a rename, so a reader never sees half a report.
func writeFileAtomic(name string, data []byte) error { return report.WriteFile(name, data) }

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

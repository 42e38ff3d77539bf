package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"

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

// checkOutFile refuses, before any work, an output file that cannot be
// written: a directory, or one in a directory that does not exist.
func checkOutFile(name string) error {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return usagef("--out %s: a directory, want a file name", name)
	}
	if st, err := os.Stat(filepath.Dir(name)); err != nil {
		return usagef("--out %s: %w", name, report.OSReason(err))
	} else if !st.IsDir() {
		return usagef("--out %s: %s is not a directory", name, filepath.Dir(name))
	}
	return nil
}

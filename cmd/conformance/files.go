package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// bytesBuffer is bytes.Buffer, named for the files this command writes.
type bytesBuffer = bytes.Buffer

// writeFileAtomic writes data to name through a temporary file in the same
// directory and a rename, so a reader never sees half a report.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

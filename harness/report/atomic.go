package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otplab/otplab/internal/leftover"
	"github.com/otplab/otplab/internal/outpath"
)

// TmpInfix marks this command's temporary files: ".NAME.tmp-PID-RANDOM".
// The PID lets a later run tell the left-overs of a run that was killed
// (its process is gone) from the files of a run still going.
const TmpInfix = ".tmp-"

// WriteFile writes data to name through a temporary file in the same
// directory and a rename, so a reader never sees half a report. The
// temporary file is removed on every error, left-overs of killed runs
// are removed first, and errors name name, never the temporary file.
//
// A name that is a device, a FIFO or another special file (such as
// /dev/null or /dev/stdout) is written in place, never replaced.
func WriteFile(name string, data []byte) error { return writeFile(os.Stat, name, data) }

// writeFile is WriteFile with the stat function that tells a special file.
func writeFile(stat outpath.StatFunc, name string, data []byte) error {
	special, err := outpath.Special(stat, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, OSReason(err))
	}
	if special {
		if err := outpath.WriteInPlace(name, data); err != nil {
			return fmt.Errorf("%s: %w", name, OSReason(err))
		}
		return nil
	}
	dir := filepath.Dir(name)
	removeLeftovers(dir, filepath.Base(name))
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+TmpInfix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return fmt.Errorf("%s: %w", name, OSReason(err))
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
		return fmt.Errorf("%s: %w", name, OSReason(err))
	}
	return nil
}

// OSReason strips the path (a temporary file's) from an error of the os
// package, leaving the operation and the reason, so that messages name the
// file the user asked for.
func OSReason(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	case errors.As(err, &le):
		return fmt.Errorf("%s: %w", le.Op, le.Err)
	}
	return err
}

// removeLeftovers removes the temporary files for base in dir that a
// process no longer running left behind.
func removeLeftovers(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + TmpInfix
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if pid, ok := leftover.PID(rest); ok && pid != os.Getpid() && !leftover.Running(pid) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

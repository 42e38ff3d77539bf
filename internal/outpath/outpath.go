// Package outpath decides how an output path may be written. A regular
// file (or a path that does not exist yet) is written through a temporary
// file and a rename, so a reader never sees half of it. A device, a FIFO,
// a socket or any other special file must never be replaced that way:
// renaming over /dev/null as root turns the machine's /dev/null into a
// regular file for every other process. Such a path is written in place,
// as a shell redirection would.
package outpath

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// StatFunc reports on a path, following symbolic links, as [os.Stat]
// does. Writers take one so that tests can present a device without
// creating one.
type StatFunc func(name string) (fs.FileInfo, error)

// Special reports whether name exists and is neither a regular file nor
// a directory (a character or block device, a FIFO, a socket, ...),
// following symbolic links. A path that does not exist is not special; any
// other stat error is returned.
func Special(stat StatFunc, name string) (bool, error) {
	st, err := stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !st.Mode().IsRegular() && !st.IsDir(), nil
}

// WriteInPlace writes data to the existing special file name, opened for
// writing only: it is never created, truncated, renamed or removed. For a
// FIFO the call waits for a reader, as a shell redirection does.
func WriteInPlace(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

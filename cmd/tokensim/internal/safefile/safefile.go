// Package safefile writes files that hold secrets: created 0600, written
// to a temporary file in the same directory and renamed into place, so a
// reader never sees half a file and an error leaves nothing behind. It
// also serialises read-modify-write updates between processes with an
// exclusive flock on the file (Linux and other Unix systems).
//
// Temporary files and staging directories carry the PID of the process
// that made them (".NAME.tmp-PID-RANDOM", ".tokensim-staging-PID-RANDOM"),
// so that the left-overs of a process that was killed before it could
// remove them are removed the next time a file is written in that
// directory. Errors name the file being written, never the temporary one.
// A path that is a symbolic link is updated through it: the link's target
// changes, the link stays.
//
// A path that is a device, a FIFO or another special file (such as
// /dev/null) is never replaced: with overwrite it is written in place,
// as a shell redirection would, and a read-modify-write update of one is
// refused.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/otplab/otplab/internal/leftover"
	"github.com/otplab/otplab/internal/outpath"
)

// Perm is the mode of every file this package creates.
const Perm = 0o600

// File is a file being written. Its content becomes visible at its path
// only on [File.Commit]; [File.Abort] (safe to defer, a no-op after
// Commit) removes it.
type File struct {
	*os.File
	path      string
	overwrite bool
	inPlace   bool // path is a special file, written directly
	done      bool
}

// Create starts writing path. Without overwrite it fails at once, with an
// error wrapping [fs.ErrExist], if path exists, and Commit never replaces
// a file that appeared in the meantime. With overwrite, a path that is a
// special file is opened and written in place (Commit and Abort then only
// close it).
func Create(path string, overwrite bool) (*File, error) {
	return create(os.Stat, path, overwrite)
}

// create is Create with the stat function that tells a special file.
func create(stat outpath.StatFunc, path string, overwrite bool) (*File, error) {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("%s: %w (use --force to replace it)", path, fs.ErrExist)
		}
	}
	special, err := outpath.Special(stat, path)
	if err != nil {
		return nil, err
	}
	if special {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOCTTY, 0)
		if err != nil {
			return nil, err
		}
		return &File{File: f, path: path, overwrite: true, inPlace: true}, nil
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	removeLeftovers(dir)
	f, err := os.CreateTemp(dir, "."+base+tmpInfix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, named(path, err)
	}
	if err := f.Chmod(Perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, named(path, err)
	}
	return &File{File: f, path: path, overwrite: overwrite}, nil
}

// Write writes to the temporary file; an error names the file's path.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	return n, named(f.path, err)
}

// WriteString is Write of a string.
func (f *File) WriteString(s string) (int, error) { return f.Write([]byte(s)) }

// Marks of this package's temporary names, followed by the PID.
const (
	tmpInfix     = ".tmp-"
	stagingStart = ".tokensim-staging-"
)

// named returns err with the path of an os error replaced by path (the
// temporary file's name means nothing to the user).
func named(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return &fs.PathError{Op: pe.Op, Path: path, Err: pe.Err}
	case errors.As(err, &le):
		return &fs.PathError{Op: le.Op, Path: path, Err: le.Err}
	}
	return err
}

// removeLeftovers removes, in dir, the temporary files and staging
// directories of processes that no longer run.
func removeLeftovers(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		var rest string
		if r, ok := strings.CutPrefix(name, stagingStart); ok && e.IsDir() {
			rest = r
		} else if i := strings.LastIndex(name, tmpInfix); i > 0 && name[0] == '.' && e.Type().IsRegular() {
			rest = name[i+len(tmpInfix):]
		} else {
			continue
		}
		pid, ok := leftover.PID(rest)
		if !ok || pid == os.Getpid() || leftover.Running(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(dir, name))
	}
}

// resolve follows path's symbolic links, so that the file they lead to
// is replaced rather than the link. A path that does not exist is
// returned as it is.
func resolve(path string) (string, error) {
	real, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(path); lerr == nil {
			return "", fmt.Errorf("%s: a symbolic link to a file that does not exist", path)
		}
		return path, nil
	}
	if err != nil {
		return "", err
	}
	return real, nil
}

// Commit flushes the file to disk and moves it to its path.
func (f *File) Commit() error {
	if f.done {
		return errors.New("safefile: commit after commit or abort")
	}
	f.done = true
	if f.inPlace {
		return named(f.path, f.File.Close())
	}
	tmp := f.File.Name()
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = publish(tmp, f.path, f.overwrite)
	}
	if err != nil {
		os.Remove(tmp)
		return named(f.path, err)
	}
	return nil
}

// Abort discards the file.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	if !f.inPlace {
		os.Remove(f.File.Name())
	}
}

// publish moves tmp to path: a rename, or without overwrite a hard link
// (which fails if path exists) and the removal of tmp.
func publish(tmp, path string, overwrite bool) error {
	if overwrite {
		return os.Rename(tmp, path)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w (use --force to replace it)", path, fs.ErrExist)
		}
		return named(path, err)
	}
	return named(path, os.Remove(tmp))
}

// Write writes data to path in one step (see [Create]).
func Write(path string, data []byte, overwrite bool) error {
	return write(os.Stat, path, data, overwrite)
}

func write(stat outpath.StatFunc, path string, data []byte, overwrite bool) error {
	f, err := create(stat, path, overwrite)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// Read reads a file of at most max bytes; a larger file is an error
// wrapping [ErrTooLarge].
func Read(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, path, max)
}

// ErrNotRegular reports a file to be updated that is a device, a FIFO
// or another special file, which an update would destroy.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge reports a file larger than the caller accepts.
var ErrTooLarge = errors.New("file too large")

func readLimited(r io.Reader, path string, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return b, nil
}

// Update replaces the content of path with fn's result while holding an
// exclusive lock on it, so that concurrent updates from any number of
// processes apply one after the other and none is lost. fn gets the
// current content (at most max bytes). If fn fails, the file is left as
// it was.
//
// A path that is a symbolic link is followed: the file it leads to is
// replaced, the link stays.
func Update(path string, max int64, fn func(old []byte) ([]byte, error)) error {
	path, err := resolve(path)
	if err != nil {
		return err
	}
	if special, err := outpath.Special(os.Stat, path); err != nil {
		return err
	} else if special {
		return fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	return withLock(path, func(f *os.File) error {
		old, err := readLimited(f, path, max)
		if err != nil {
			return err
		}
		data, err := fn(old)
		if err != nil {
			return err
		}
		return Write(path, data, true)
	})
}

// Replace writes data to path, taking the lock of [Update] if the file
// exists so as not to interleave with an update in progress.
// Like Update, it follows a symbolic link.
func Replace(path string, data []byte) error {
	return replace(os.Stat, path, data)
}

func replace(stat outpath.StatFunc, path string, data []byte) error {
	path, err := resolve(path)
	if err != nil {
		return err
	}
	if special, err := outpath.Special(stat, path); err != nil {
		return err
	} else if special {
		return write(stat, path, data, true)
	}
	err = withLock(path, func(*os.File) error { return Write(path, data, true) })
	if errors.Is(err, errNoFile) {
		return Write(path, data, false)
	}
	return err
}

var errNoFile = errors.New("no file to lock")

// withLock runs fn with an exclusive flock on the file at path.
//
// The lock is an flock on the file itself. Since each update replaces the
// file by renaming a new one over it, a process that waited for the lock
// checks, once it has it, that the path still names the file it locked,
// and starts again on the new file if not.
func withLock(path string, fn func(*os.File) error) error {
	for {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w", errNoFile, err)
		}
		if err != nil {
			return err
		}
		if err := flock(f); err != nil {
			f.Close()
			return fmt.Errorf("%s: lock: %w", path, err)
		}
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		now, err := os.Stat(path)
		if err != nil || !os.SameFile(held, now) {
			f.Close() // replaced or removed while we waited: start again
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		err = fn(f)
		f.Close() // releases the lock, after the new file is in place
		return err
	}
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// Dir collects files to be published together into a directory: they are
// written into a hidden staging directory inside it and moved into place
// by [Dir.Commit], or all removed by [Dir.Abort].
type Dir struct {
	dir, stage string
	created    bool // dir did not exist before
	names      []string
	done       bool
}

// NewDir starts a set of files for dir, creating dir (0700) if needed.
func NewDir(dir string) (*Dir, error) {
	d := &Dir{dir: dir}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		d.created = true
	}
	removeLeftovers(dir)
	stage, err := os.MkdirTemp(dir, stagingStart+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		d.cleanup()
		return nil, named(dir, err)
	}
	d.stage = stage
	return d, nil
}

// Write stages one file named name (a plain file name, no directories).
func (d *Dir) Write(name string, data []byte) error {
	if name == "" || name != filepath.Base(name) || name[0] == '.' {
		return fmt.Errorf("safefile: bad file name %q", name)
	}
	if err := os.WriteFile(filepath.Join(d.stage, name), data, Perm); err != nil {
		return named(filepath.Join(d.dir, name), err)
	}
	d.names = append(d.names, name)
	return nil
}

// Commit moves the staged files into the directory. Without overwrite it
// first checks that none of them exists there, and fails (wrapping
// [fs.ErrExist]) before moving any. With overwrite, a name that is a
// special file there is written in place, never replaced.
func (d *Dir) Commit(overwrite bool) error { return d.commit(os.Stat, overwrite) }

func (d *Dir) commit(stat outpath.StatFunc, overwrite bool) error {
	if d.done {
		return errors.New("safefile: commit after commit or abort")
	}
	if !overwrite {
		for _, n := range d.names {
			if _, err := os.Lstat(filepath.Join(d.dir, n)); err == nil {
				d.Abort()
				return fmt.Errorf("%s: %w (use --force to replace it)", filepath.Join(d.dir, n), fs.ErrExist)
			}
		}
	}
	for _, n := range d.names {
		staged, dst := filepath.Join(d.stage, n), filepath.Join(d.dir, n)
		special, err := outpath.Special(stat, dst)
		if err == nil && special {
			var b []byte
			if b, err = os.ReadFile(staged); err == nil {
				err = outpath.WriteInPlace(dst, b)
			}
			if err == nil {
				err = os.Remove(staged)
			}
		} else if err == nil {
			err = publish(staged, dst, overwrite)
		}
		if err != nil {
			d.Abort()
			return named(dst, err)
		}
	}
	d.done = true
	return os.Remove(d.stage)
}

// Abort removes the staged files, and the directory if NewDir created it
// and it is empty.
func (d *Dir) Abort() {
	if d.done {
		return
	}
	d.done = true
	d.cleanup()
}

func (d *Dir) cleanup() {
	if d.stage != "" {
		os.RemoveAll(d.stage)
	}
	if d.created {
		os.Remove(d.dir) // only if empty
	}
}

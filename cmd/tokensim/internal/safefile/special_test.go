package safefile_test

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
)

// deviceStat reports dev as a character device (as /dev/null is) and
// everything else as os.Stat does.
func deviceStat(dev string) func(string) (fs.FileInfo, error) {
	return func(name string) (fs.FileInfo, error) {
		st, err := os.Stat(name)
		if err != nil || name != dev {
			return st, err
		}
		return charDevice{st}, nil
	}
}

type charDevice struct{ fs.FileInfo }

func (c charDevice) Mode() fs.FileMode { return fs.ModeDevice | fs.ModeCharDevice | 0o666 }

// drain reads the FIFO at p until its writer closes it.
func drain(p string) <-chan string {
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(p)
		if err != nil {
			got <- "open: " + err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	return got
}

func received(t *testing.T, got <-chan string) string {
	t.Helper()
	select {
	case s := <-got:
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("the FIFO's reader got nothing")
		return ""
	}
}

func isFIFO(t *testing.T, p string) {
	t.Helper()
	st, err := os.Lstat(p)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeNamedPipe, st.Mode().Type(), "%s is no longer a FIFO", p)
}

// TestSpecialFilesWrittenInPlace: Write, Replace, Create and Dir.Commit
// with overwrite write a FIFO or a device in place; they used to rename a
// temporary file over it, which as root destroyed /dev/null.
func TestSpecialFilesWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))

	got := drain(fifo)
	require.NoError(t, safefile.Write(fifo, []byte("write"), true))
	assert.Equal(t, "write", received(t, got))
	isFIFO(t, fifo)

	got = drain(fifo)
	require.NoError(t, safefile.Replace(fifo, []byte("replace")))
	assert.Equal(t, "replace", received(t, got))
	isFIFO(t, fifo)

	got = drain(fifo)
	f, err := safefile.Create(fifo, true)
	require.NoError(t, err)
	_, err = f.WriteString("create")
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	assert.Equal(t, "create", received(t, got))
	isFIFO(t, fifo)

	// Without overwrite an existing FIFO is refused, as any existing file.
	assert.ErrorIs(t, safefile.Write(fifo, []byte("x"), false), fs.ErrExist)

	// A read-modify-write update of a FIFO is refused, not blocked on.
	err = safefile.Update(fifo, 100, func(b []byte) ([]byte, error) { return b, nil })
	assert.ErrorIs(t, err, safefile.ErrNotRegular)
	isFIFO(t, fifo)

	d, err := safefile.NewDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.Write("fifo", []byte("staged")))
	got = drain(fifo)
	require.NoError(t, d.Commit(true))
	assert.Equal(t, "staged", received(t, got))
	isFIFO(t, fifo)

	// A device-like target keeps its identity.
	dev := filepath.Join(dir, "null")
	require.NoError(t, os.WriteFile(dev, nil, 0o600))
	same := func(write func() error) {
		t.Helper()
		before, err := os.Stat(dev)
		require.NoError(t, err)
		require.NoError(t, write())
		after, err := os.Stat(dev)
		require.NoError(t, err)
		assert.True(t, os.SameFile(before, after), "the device was replaced")
	}
	stat := deviceStat(dev)
	same(func() error { return safefile.WriteWithStat(stat, dev, []byte("w"), true) })
	same(func() error { return safefile.ReplaceWithStat(stat, dev, []byte("r")) })
	same(func() error {
		d, err := safefile.NewDir(dir)
		require.NoError(t, err)
		require.NoError(t, d.Write("null", []byte("d")))
		return d.CommitWithStat(stat, true)
	})
	assert.ElementsMatch(t, []string{"fifo", "null"}, entries(t, dir), "nothing left behind")
}

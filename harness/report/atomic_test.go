package report

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/otplab/otplab/internal/outpath/outpathtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteFileNeverReplacesASpecialFile: a FIFO and a device are written
// in place; before, the rename turned them into regular files (as root,
// --out /dev/null destroyed the machine's /dev/null).
func TestWriteFileNeverReplacesASpecialFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	got := outpathtest.Drain(fifo)
	require.NoError(t, WriteFile(fifo, []byte("through the pipe")))
	select {
	case s := <-got:
		assert.Equal(t, "through the pipe", s)
	case <-time.After(30 * time.Second):
		t.Fatal("the reader of the FIFO got nothing")
	}
	st, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeNamedPipe, st.Mode().Type(), "the FIFO is still a FIFO")

	// A symbolic link to the FIFO (as /dev/stdout is to a pipe or a tty).
	link := filepath.Join(dir, "stdout")
	require.NoError(t, os.Symlink(fifo, link))
	got = outpathtest.Drain(fifo)
	require.NoError(t, WriteFile(link, []byte("via the link")))
	assert.Equal(t, "via the link", <-got)
	st, err = os.Lstat(link)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSymlink, st.Mode().Type(), "the link is still a link")

	// A device-like target: the stat says character device; the file
	// must keep its identity (no rename over it).
	dev := filepath.Join(dir, "null")
	require.NoError(t, os.WriteFile(dev, nil, 0o600))
	require.NoError(t, os.Chmod(dev, 0o666))
	before, err := os.Stat(dev)
	require.NoError(t, err)
	require.NoError(t, writeFile(outpathtest.DeviceStat(dev), dev, []byte("discarded")))
	after, err := os.Stat(dev)
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, after), "the device was replaced by a new file")
	assert.Equal(t, fs.FileMode(0o666), after.Mode().Perm(), "the device's mode is kept")
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, es, 3, "no temporary file left: %v", es)

	// A regular file is still replaced through a rename.
	reg := filepath.Join(dir, "report.json")
	require.NoError(t, os.WriteFile(reg, []byte("old"), 0o644))
	before, _ = os.Stat(reg)
	require.NoError(t, WriteFile(reg, []byte("new")))
	after, _ = os.Stat(reg)
	assert.False(t, os.SameFile(before, after), "a regular file is replaced atomically")
	b, _ := os.ReadFile(reg)
	assert.Equal(t, "new", string(b))
}

// TestWriteDirIntoSpecialFiles: the files of --report-dir that are FIFOs
// stay FIFOs.
func TestWriteDirIntoSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, JUnitFile)
	require.NoError(t, syscall.Mkfifo(p, 0o600))
	got := outpathtest.Drain(p)
	require.NoError(t, (&Summary{}).WriteDir(dir))
	assert.Contains(t, <-got, "<testsuites")
	st, err := os.Lstat(p)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeNamedPipe, st.Mode().Type())
}

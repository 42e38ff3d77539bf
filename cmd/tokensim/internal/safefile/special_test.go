package safefile_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
	"github.com/otplab/otplab/internal/outpath/outpathtest"
)

// TestSpecialFilesWrittenInPlace: Write, Replace, Create and Dir.Commit
// with overwrite write a FIFO or a device in place; they used to rename a
// temporary file over it, which as root destroyed /dev/null.
func TestSpecialFilesWrittenInPlace(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))

	got := outpathtest.Drain(fifo)
	require.NoError(t, safefile.Write(fifo, []byte("write"), true))
	assert.Equal(t, "write", outpathtest.Received(t, got))
	outpathtest.IsFIFO(t, fifo)

	got = outpathtest.Drain(fifo)
	require.NoError(t, safefile.Replace(fifo, []byte("replace")))
	assert.Equal(t, "replace", outpathtest.Received(t, got))
	outpathtest.IsFIFO(t, fifo)

	got = outpathtest.Drain(fifo)
	f, err := safefile.Create(fifo, true)
	require.NoError(t, err)
	_, err = f.WriteString("create")
	require.NoError(t, err)
	require.NoError(t, f.Commit())
	assert.Equal(t, "create", outpathtest.Received(t, got))
	outpathtest.IsFIFO(t, fifo)

	// Without overwrite an existing FIFO is refused, as any existing file.
	assert.ErrorIs(t, safefile.Write(fifo, []byte("x"), false), fs.ErrExist)

	// A read-modify-write update of a FIFO is refused, not blocked on.
	err = safefile.Update(fifo, 100, func(b []byte) ([]byte, error) { return b, nil })
	assert.ErrorIs(t, err, safefile.ErrNotRegular)
	outpathtest.IsFIFO(t, fifo)

	d, err := safefile.NewDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.Write("fifo", []byte("staged")))
	got = outpathtest.Drain(fifo)
	require.NoError(t, d.Commit(true))
	assert.Equal(t, "staged", outpathtest.Received(t, got))
	outpathtest.IsFIFO(t, fifo)

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
	stat := outpathtest.DeviceStat(dev)
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

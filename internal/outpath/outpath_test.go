package outpath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type device struct{ fs.FileInfo }

func (device) Mode() fs.FileMode { return fs.ModeDevice | fs.ModeCharDevice | 0o666 }

func TestSpecial(t *testing.T) {
	dir := t.TempDir()
	reg, fifo := filepath.Join(dir, "reg"), filepath.Join(dir, "fifo")
	require.NoError(t, os.WriteFile(reg, nil, 0o600))
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(fifo, link))
	for name, want := range map[string]bool{reg: false, dir: false, fifo: true, link: true, filepath.Join(dir, "none"): false} {
		got, err := Special(os.Stat, name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	dev := func(name string) (fs.FileInfo, error) {
		st, err := os.Stat(name)
		return device{st}, err
	}
	got, err := Special(dev, reg)
	require.NoError(t, err)
	assert.True(t, got, "a character device is special")
	boom := errors.New("permission denied")
	_, err = Special(func(string) (fs.FileInfo, error) { return nil, boom }, reg)
	assert.ErrorIs(t, err, boom)
}

func TestWriteInPlaceNeverCreates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gone")
	assert.ErrorIs(t, WriteInPlace(p, []byte("x")), fs.ErrNotExist)
	assert.NoFileExists(t, p)
}

package safefile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/cmd/tokensim/internal/safefile"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteAndAbort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.json")
	require.NoError(t, safefile.Write(p, []byte("one"), false))
	st, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())

	err = safefile.Write(p, []byte("two"), false)
	assert.ErrorIs(t, err, fs.ErrExist)
	require.NoError(t, safefile.Write(p, []byte("two"), true))
	b, _ := os.ReadFile(p)
	assert.Equal(t, "two", string(b))

	f, err := safefile.Create(filepath.Join(dir, "x"), false)
	require.NoError(t, err)
	f.WriteString("half")
	f.Abort()
	assert.Equal(t, []string{"t.json"}, entries(t, dir), "abort leaves nothing behind")

	// A file that appears between Create and Commit is not replaced.
	f, err = safefile.Create(filepath.Join(dir, "y"), false)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "y"), []byte("theirs"), 0o600))
	assert.ErrorIs(t, f.Commit(), fs.ErrExist)
	b, _ = os.ReadFile(filepath.Join(dir, "y"))
	assert.Equal(t, "theirs", string(b))
	assert.ElementsMatch(t, []string{"t.json", "y"}, entries(t, dir))
}

func TestUpdateSerialises(t *testing.T) {
	p := filepath.Join(t.TempDir(), "n")
	require.NoError(t, safefile.Write(p, []byte("0"), false))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				err := safefile.Update(p, 100, func(old []byte) ([]byte, error) {
					n, err := strconv.Atoi(string(old))
					return []byte(strconv.Itoa(n + 1)), err
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(p)
	assert.Equal(t, "200", string(b))
}

func TestUpdateFailureKeepsFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "n")
	require.NoError(t, safefile.Write(p, []byte("keep"), false))
	boom := errors.New("boom")
	err := safefile.Update(p, 100, func([]byte) ([]byte, error) { return nil, boom })
	assert.ErrorIs(t, err, boom)
	err = safefile.Update(p, 2, func([]byte) ([]byte, error) { return []byte("x"), nil })
	assert.ErrorIs(t, err, safefile.ErrTooLarge)
	b, _ := os.ReadFile(p)
	assert.Equal(t, "keep", string(b))
	assert.Equal(t, []string{"n"}, entries(t, dir))

	require.NoError(t, safefile.Replace(p, []byte("new")))
	require.NoError(t, safefile.Replace(filepath.Join(dir, "m"), []byte("fresh")))
	b, _ = os.ReadFile(p)
	assert.Equal(t, "new", string(b))
}

func TestDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "devices")
	d, err := safefile.NewDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.Write("a.json", []byte("a")))
	d.Abort()
	_, err = os.Stat(dir)
	assert.ErrorIs(t, err, fs.ErrNotExist, "an aborted set removes the directory it created")

	d, err = safefile.NewDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.Write("a.json", []byte("a")))
	require.NoError(t, d.Write("b.json", []byte("b")))
	assert.Error(t, d.Write("../c.json", nil))
	require.NoError(t, d.Commit(false))
	assert.Equal(t, []string{"a.json", "b.json"}, entries(t, dir))

	d, err = safefile.NewDir(dir)
	require.NoError(t, err)
	require.NoError(t, d.Write("c.json", []byte("c")))
	require.NoError(t, d.Write("b.json", []byte("B")))
	assert.ErrorIs(t, d.Commit(false), fs.ErrExist)
	assert.Equal(t, []string{"a.json", "b.json"}, entries(t, dir), "a refused commit moves nothing")
}

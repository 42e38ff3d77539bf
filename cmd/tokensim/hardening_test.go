package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otplab/otplab/internal/outpath/outpathtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTimesOutOfRange: moments before 1970 or after 9999 are refused with
// a one-line usage error, and nothing is written.
func TestTimesOutOfRange(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--model", "app", "--out", "app.json", "--secret", rfcSecretHex)
	ok(t, "new", "--model", "c100", "--out", "c100.json", "--secret", rfcSecretHex)
	before, err := os.ReadFile("app.json")
	require.NoError(t, err)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"new", "--model", "app", "--out", "x.json", "--at", "-1"}, `time "-1": out of range`},
		{[]string{"new", "--model", "app", "--out", "x.json", "--at", "253402300800"}, `time "253402300800": out of range`},
		{[]string{"new", "--model", "app", "--out", "x.json", "--at", "9223372036854775807"}, "out of range"},
		{[]string{"new", "--model", "app", "--out", "x.json", "--at", "1969-12-31T23:59:59Z"}, "1969-12-31T23:59:59Z is out of range (years 1970 to 9999)"},
		{[]string{"new", "--model", "app", "--out", "x.json", "--at", "9999-12-31T23:00:00-05:00"}, "is out of range"},
		{[]string{"codes", "app.json", "--from", "-62135596800"}, "--from: time"},
		{[]string{"codes", "app.json", "--from", "0001-01-01T00:00:00Z"}, "out of range"},
		{[]string{"press", "app.json", "--at", "99999999999999"}, "out of range"},
		{[]string{"drift", "app.json", "--offset", "48h", "--at", "9999-12-31T00:00:00Z"}, "--offset 48h0m0s: at 9999-12-31T00:00:00Z the device clock would read"},
		{[]string{"drift", "app.json", "--offset", "-500000h"}, "out of range"},
		{[]string{"press", "c100.json", "--at", "9999-12-31T23:59:55Z"}, "shown.until: time out of range for a state file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := tokensim(tt.args...)
			assert.Equal(t, exitInput, r.code, r.err)
			assert.Contains(t, r.err, tt.want)
			assert.Equal(t, 1, strings.Count(r.err, "\n"), "one line: %s", r.err)
			assert.NoFileExists(t, "x.json")
		})
	}
	after, err := os.ReadFile("app.json")
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
	ok(t, "show", "c100.json") // still readable
	ok(t, "codes", "app.json", "--from", "9999-12-31T23:59:00Z", "--count", "1")
}

// TestPressThroughSymlink: press on a symbolic link updates the file it
// leads to and leaves the link a link, wherever the two are.
func TestPressThroughSymlink(t *testing.T) {
	dir := inTemp(t)
	require.NoError(t, os.Mkdir("tokens", 0o700))
	require.NoError(t, os.Mkdir("links", 0o700))
	ok(t, "new", "--model", "c100", "--out", "tokens/t.json", "--secret", rfcSecretHex)
	require.NoError(t, os.Symlink("../tokens/t.json", "links/t.json"))
	assert.Equal(t, rfcHOTP[0]+"\n", ok(t, "press", "links/t.json"))
	assert.Equal(t, rfcHOTP[1]+"\n", ok(t, "press", "links/t.json", "--at", "2026-11-23T10:00:00Z"))
	st, err := os.Lstat("links/t.json")
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, st.Mode().Type(), "the link is still a link")
	assert.Contains(t, ok(t, "show", "tokens/t.json"), "counter")
	assert.Equal(t, rfcHOTP[2]+"\n", ok(t, "codes", "tokens/t.json", "--count", "1"), "the target moved on")
	ok(t, "drift", "links/t.json", "--presses", "2")
	assert.Equal(t, rfcHOTP[4]+"\n", ok(t, "codes", "tokens/t.json", "--count", "1"))
	ok(t, "new", "--model", "c100", "--out", "links/t.json", "--secret", rfcSecretHex, "--force")
	st, err = os.Lstat("links/t.json")
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, st.Mode().Type(), "new --force writes through the link too")
	for _, d := range []string{"tokens", "links"} {
		left, _ := filepath.Glob(filepath.Join(dir, d, ".*"))
		assert.Empty(t, left, "temporary files in %s", d)
	}
	require.NoError(t, os.Symlink("nowhere.json", "links/dangling.json"))
	r := tokensim("drift", "links/dangling.json", "--presses", "1")
	assert.NotEqual(t, 0, r.code)
}

// TestWeakSecretWarning: a secret under 128 bits (RFC 4226 R6) is taken
// with a warning; a longer one without.
func TestWeakSecretWarning(t *testing.T) {
	inTemp(t)
	r := tokensim("new", "--model", "c100", "--out", "weak.json", "--secret", "3132333435363738393031")
	require.Equal(t, 0, r.code, r.err)
	assert.Contains(t, r.err, "warning: weak.json: the secret has 88 bits; RFC 4226 (R6) asks for at least 128")
	r = tokensim("new", "--model", "c100", "--out", "strong.json", "--secret", "31323334353637383930313233343536")
	require.Equal(t, 0, r.code, r.err)
	assert.NotContains(t, r.err, "warning")
	r = tokensim("new", "--model", "app", "--out", "random.json")
	require.Equal(t, 0, r.code, r.err)
	assert.Empty(t, r.err)
}

// TestLeftoversCleaned: the temporary files and staging directories of a
// killed tokensim are removed by the next one that writes in the same
// directory; those of a live process stay.
func TestLeftoversCleaned(t *testing.T) {
	inTemp(t)
	dead := deadPid(t)
	staleFile := ".t.json.tmp-" + strconv.Itoa(dead) + "-123"
	staleDir := ".tokensim-staging-" + strconv.Itoa(dead) + "-456"
	liveFile := ".t.json.tmp-1-789"
	userFile := ".notes.tmp-" + strconv.Itoa(dead) + "-draft"
	for _, f := range []string{staleFile, liveFile, userFile} {
		require.NoError(t, os.WriteFile(f, []byte("secret half"), 0o600))
	}
	require.NoError(t, os.Mkdir(staleDir, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(staleDir, "1000000000001.json"), []byte("{}"), 0o600))
	ok(t, "new", "--model", "c100", "--out", "t.json")
	assert.NoFileExists(t, staleFile)
	assert.NoDirExists(t, staleDir)
	assert.FileExists(t, liveFile)
	assert.FileExists(t, userFile, "not one of ours")
}

// TestErrorsNameTheTarget: a write that fails names the file asked for,
// not the temporary file.
func TestErrorsNameTheTarget(t *testing.T) {
	inTemp(t)
	r := tokensim("new", "--model", "c100", "--out", "missing/t.json")
	assert.NotEqual(t, exitOK, r.code)
	assert.Contains(t, r.err, "missing/t.json: no such file or directory")
	assert.NotContains(t, r.err, ".tmp")
}

// deadPid returns a PID that no process has.
func deadPid(t *testing.T) int {
	for pid := 4_000_000; pid > 100_000; pid -= 7919 {
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			return pid
		}
	}
	t.Skip("no free pid found")
	return 0
}

// TestOutputsNeverReplaceAFIFO: new --force, export --force and fleet
// --force write a FIFO in place and leave it a FIFO (they used to rename
// a regular file over it; as root, over /dev/null).
func TestOutputsNeverReplaceAFIFO(t *testing.T) {
	dir := inTemp(t)
	ok(t, "new", "--model", "c100", "--out", "tok.json", "--secret", rfcSecretHex)
	for _, name := range []string{"a", "b", "c"} {
		require.NoError(t, syscall.Mkfifo(filepath.Join(dir, name), 0o600))
	}
	tests := []struct {
		args  []string
		fifos []string
		want  string
	}{
		{[]string{"new", "--model", "c100", "--out", "a", "--force", "--seed", "s"}, []string{"a"}, `"model"`},
		{[]string{"export", "tok.json", "--out", "b", "--force"}, []string{"b"}, "KeyContainer"},
		{[]string{"export", "tok.json", "--format", "uri", "--out", "a", "--force"}, []string{"a"}, "otpauth://"},
		{[]string{"fleet", "--count", "2", "--seed", "q", "--pskc", "b", "--manifest", "c", "--force"}, []string{"b", "c"}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got []<-chan string
			for _, f := range tt.fifos {
				got = append(got, outpathtest.Drain(f))
			}
			ok(t, tt.args...)
			for i, f := range tt.fifos {
				select {
				case s := <-got[i]:
					assert.NotEmpty(t, s)
					assert.Contains(t, s, tt.want)
				case <-time.After(30 * time.Second):
					t.Fatalf("nothing written to %s", f)
				}
				st, err := os.Lstat(f)
				require.NoError(t, err)
				assert.Equal(t, fs.ModeNamedPipe, st.Mode().Type(), "%s is no longer a FIFO", f)
			}
		})
	}
}

// TestOneClockOffsetBound: drift, fleet and a state file take the same
// bound on a clock offset, 10^9 s either way (drift took 9.2x10^9 s).
func TestOneClockOffsetBound(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--model", "app", "--out", "app.json", "--secret", rfcSecretHex)
	ok(t, "drift", "app.json", "--offset", "1000000000s")
	ok(t, "drift", "app.json", "--offset", "-1000000000s")
	for _, args := range [][]string{
		{"drift", "app.json", "--offset", "1000000001s"},
		{"drift", "app.json", "--offset", "2562047h"}, // 9.2x10^9 s
		{"fleet", "--model", "app", "--count", "1", "--seed", "q", "--drift", "fixed:1000000001", "--pskc", "f.pskc", "--manifest", "f.csv"},
	} {
		r := tokensim(args...)
		assert.Equal(t, exitInput, r.code, "%v: %s", args, r.err)
		assert.Contains(t, r.err, "at most 1000000000 s", args)
	}
	ok(t, "fleet", "--model", "app", "--count", "1", "--seed", "q", "--drift", "fixed:1000000000", "--pskc", "f.pskc", "--manifest", "f.csv")
}

// TestStateFieldErrorsHideValues: a secret pasted into serial, model or
// algorithm of a state file is not echoed by the error.
func TestStateFieldErrorsHideValues(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--model", "c100", "--out", "c.json", "--secret", rfcSecretHex)
	b, err := os.ReadFile("c.json")
	require.NoError(t, err)
	for _, field := range []string{"serial", "model", "algorithm"} {
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		m[field] = rfcSecretHex
		edited, err := json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile("edited.json", edited, 0o600))
		r := tokensim("show", "edited.json")
		assert.Equal(t, exitInput, r.code, r.err)
		assert.Contains(t, r.err, field)
		assert.NotContains(t, r.err, rfcSecretHex[:8], field)
	}
}

package wire

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/harness"
)

func TestRedactor(t *testing.T) {
	secret := []byte("12345678901234567890\xfe\xff")
	r := NewRedactor()
	r.Add(secret)
	r.Add(secret) // twice is once
	h := hex.EncodeToString(secret)
	b32 := base32.StdEncoding.EncodeToString(secret)
	forms := map[string]string{
		"hex":                h,
		"HEX":                strings.ToUpper(h),
		"Mixed hex":          strings.ToUpper(h[:10]) + h[10:],
		"base32":             b32,
		"base32 lower":       strings.ToLower(b32),
		"base32 unpadded":    strings.TrimRight(b32, "="),
		"base64":             base64.StdEncoding.EncodeToString(secret),
		"base64 unpadded":    base64.RawStdEncoding.EncodeToString(secret),
		"base64 URL":         base64.URLEncoding.EncodeToString(secret),
		"base64 URL no pads": base64.RawURLEncoding.EncodeToString(secret),
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			got := r.Redact("key=" + form + " end")
			assert.NotContains(t, got, strings.TrimRight(form, "="))
			assert.Contains(t, got, Redacted)
			assert.True(t, strings.HasPrefix(got, "key=") && strings.HasSuffix(got, " end"), got)
		})
	}
	assert.Equal(t, "nothing secret here: 3132", r.Redact("nothing secret here: 3132"))
	assert.Equal(t, "a "+Redacted+" b", r.Redact("a "+h+h+" b"), "adjacent copies are one mask")
	var none *Redactor
	assert.Equal(t, h, none.Redact(h))
	none.Add(secret) // no panic
	short := NewRedactor()
	short.Add([]byte{0x31})
	assert.Equal(t, "31 is not masked", short.Redact("31 is not masked"))
}

func TestStderrLogKeepsHeadAndTail(t *testing.T) {
	secret := []byte("12345678901234567890")
	red := NewRedactor()
	red.Add(secret)
	var copied strings.Builder
	l := newStderrLog(64, 64, red, &copied)
	assert.Empty(t, l.note())
	fmt.Fprintf(l, "Error: the first news %x\n", secret)
	for i := range 100 {
		fmt.Fprintf(l, "frame %d\n", i)
	}
	fmt.Fprint(l, "ValueError: the last news ")
	hexed := hex.EncodeToString(secret)
	fmt.Fprint(l, hexed[:7]) // a secret split between writes
	fmt.Fprint(l, hexed[7:])
	n := l.note()
	assert.Contains(t, n, "Error: the first news")
	assert.Contains(t, n, "ValueError: the last news")
	assert.Contains(t, n, " ... ")
	assert.NotContains(t, n, "frame 50")
	assert.NotContains(t, n, hexed[:8])
	assert.NotContains(t, n, hexed[len(hexed)-8:])
	l.flush()
	assert.NotContains(t, copied.String(), hexed[:8], "the copy is redacted too")
	assert.NotContains(t, copied.String(), hexed[len(hexed)-8:])
	assert.Contains(t, copied.String(), "frame 50")

	// A line longer than the redaction buffer, with a secret across the
	// buffer's edge, is masked all the same.
	long := newStderrLog(1<<20, 1<<20, red, nil)
	fmt.Fprint(long, strings.Repeat("y", pendingMax-10)+hexed+strings.Repeat("z", pendingMax))
	long.flush()
	assert.NotContains(t, long.String(), hexed[:8])
	assert.NotContains(t, long.String(), hexed[len(hexed)-8:])

	// A secret added after the text came is masked when quoted.
	late := newStderrLog(64, 64, NewRedactor(), nil)
	fmt.Fprintf(late, "key %x\n", secret)
	late.red.Add(secret)
	assert.NotContains(t, late.note(), hexed[:8])

	big := newStderrLog(4096, 4096, nil, nil)
	fmt.Fprint(big, strings.Repeat("é", 3000))
	assert.LessOrEqual(t, len(big.note()), noteHead+noteTail+40)
}

// TestExecRedactsSecrets: a verifier that prints a secret on stderr or
// stdout, or in a refusal, has it masked in every error.
func TestExecRedactsSecrets(t *testing.T) {
	hexed := hex.EncodeToString(testToken.Secret)
	b64 := base64.StdEncoding.EncodeToString(testToken.Secret)
	b32 := strings.TrimRight(base32.StdEncoding.EncodeToString(testToken.Secret), "=")
	for _, mode := range []string{"leak-stderr", "leak-stdout", "leak-refusal"} {
		t.Run(mode, func(t *testing.T) {
			noLeaks(t)
			c := newHelperExec(t, mode, ExecOptions{})
			ctx := t.Context()
			require.NoError(t, c.Enroll(ctx, testToken))
			_, err := c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: "123456"})
			require.Error(t, err)
			msg := strings.ToLower(err.Error())
			for _, form := range []string{hexed, strings.ToLower(b64[:16]), strings.ToLower(b32[:16])} {
				assert.NotContains(t, msg, form[:16])
			}
			assert.Contains(t, err.Error(), Redacted)
			switch mode {
			case "leak-stderr":
				assert.Contains(t, err.Error(), "Error: first news", "the head of stderr")
				assert.Contains(t, err.Error(), "ValueError: last news", "the tail of stderr")
				assert.ErrorIs(t, err, ErrTransport)
			case "leak-stdout":
				assert.ErrorIs(t, err, ErrMalformed)
			case "leak-refusal":
				var refused *harness.RefusedError
				require.ErrorAs(t, err, &refused)
				assert.NotContains(t, refused.Message, hexed)
			}
		})
	}
}

// TestExecUnendedHugeLine: a line past the limit fails the request at
// once, though the verifier never ends it.
func TestExecUnendedHugeLine(t *testing.T) {
	noLeaks(t)
	c := newHelperExec(t, "huge-unended", ExecOptions{})
	ctx := t.Context()
	require.NoError(t, c.Enroll(ctx, testToken))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.Check(rctx, harness.CheckRequest{Serial: testToken.Serial, Code: "123456"})
	require.ErrorIs(t, err, ErrMalformed, "reported before the deadline, not by it")
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "a reply line longer than 1048576 bytes")
	require.NoError(t, c.Close())
}

// TestExecSetsidOrphanKilled: a verifier's child that left the process
// group with setsid is found and killed when the verifier ends.
func TestExecSetsidOrphanKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the subreaper is Linux only")
	}
	if _, err := os.Stat("/usr/bin/setsid"); err != nil {
		t.Skip("no setsid")
	}
	noLeaks(t)
	script := filepath.Join(t.TempDir(), "verifier.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nsetsid sleep 1000 &\necho \"orphan $!\" >&2\nexec \"$@\"\n"), 0o755))
	argv, env := helperArgv(t, "crash")
	c, err := NewExec(append([]string{"/bin/sh", script}, argv...), ExecOptions{Env: env, Grace: 200 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close()
	ctx := t.Context()
	require.NoError(t, c.Enroll(ctx, testToken))
	_, err = c.Check(ctx, harness.CheckRequest{Serial: testToken.Serial, Code: "123456"})
	require.ErrorIs(t, err, ErrTransport)
	m := regexp.MustCompile(`orphan (\d+)`).FindStringSubmatch(err.Error())
	require.NotNil(t, m, "%v", err)
	pid, _ := strconv.Atoi(m[1])
	require.Eventually(t, func() bool { return !alive(pid) }, 3*time.Second, 10*time.Millisecond, "the setsid orphan %d lives on", pid)
	require.NoError(t, c.Close())
}

// TestHTTPGivesUpOnHungVerifier: after HangAfter timeouts in a row, every
// request fails at once; a reply in between resets the count.
func TestHTTPGivesUpOnHungVerifier(t *testing.T) {
	noLeaks(t)
	hang := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.HasSuffix(r.URL.Path, "/unlock") {
			fmt.Fprintf(w, `{"id":%d,"ok":true}`, idOf(r))
			return
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	c, err := NewHTTP(srv.URL, HTTPOptions{Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	defer c.Close()
	ctx := t.Context()
	check := func() error {
		_, err := c.Check(ctx, harness.CheckRequest{Serial: "1", Code: "123456"})
		return err
	}
	require.ErrorIs(t, check(), context.DeadlineExceeded)
	require.ErrorIs(t, check(), context.DeadlineExceeded)
	require.NoError(t, c.Unlock(ctx, "1"), "an answer resets the count")
	for range 3 {
		require.ErrorIs(t, check(), context.DeadlineExceeded)
	}
	sent := hits.Load()
	err = check()
	require.ErrorIs(t, err, ErrTransport)
	assert.Contains(t, err.Error(), "gave no reply to 3 requests in a row")
	require.Error(t, c.Unlock(ctx, "1"), "and it stays given up")
	assert.Equal(t, sent, hits.Load(), "no request reaches a verifier given up on")
}

// TestHTTPTLS: a verifier with its own CA works once its CA is given;
// without it, and with TLS on one end only, the error says why.
func TestHTTPTLS(t *testing.T) {
	noLeaks(t)
	h := NewHandler(newReference(t), "", ServeOptions{})
	// The cases below make the server log handshake errors on purpose:
	// they are kept out of the test log, where they read like failures.
	tlsSrv := httptest.NewUnstartedServer(h)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(h)
	defer plain.Close()
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())

	c, err := NewHTTP(tlsSrv.URL, HTTPOptions{TLSConfig: &tls.Config{RootCAs: pool}})
	require.NoError(t, err)
	_, err = c.Describe(t.Context())
	require.NoError(t, err, "with its CA")
	c.Close()

	tests := []struct{ url, want string }{
		{tlsSrv.URL, "not signed by a CA the harness trusts"},
		{strings.Replace(tlsSrv.URL, "https:", "http:", 1), "use an https:// URL"},
		{strings.Replace(plain.URL, "http:", "https:", 1), "answered in plain HTTP, not TLS: use an http:// URL"},
	}
	for _, tt := range tests {
		c, err := NewHTTP(tt.url, HTTPOptions{})
		require.NoError(t, err)
		_, err = c.Describe(t.Context())
		require.ErrorIs(t, err, ErrTransport, tt.url)
		assert.Contains(t, err.Error(), tt.want)
		c.Close()
	}
}

// TestRedactProperty: whatever the secrets and the text around them, no
// encoding of a known secret survives Redact, and text that holds none
// comes out unchanged.
func TestRedactProperty(t *testing.T) {
	harness.RapidCheck(t, func(t *rapid.T) {
		secrets := rapid.SliceOfN(rapid.SliceOfN(rapid.Byte(), 8, 40), 1, 20).Draw(t, "secrets")
		r := NewRedactor()
		for _, s := range secrets {
			r.Add(s)
		}
		var forms []string
		for _, s := range secrets {
			forms = append(forms, hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
				base32.StdEncoding.EncodeToString(s), strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(s)),
				base64.StdEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s))
		}
		pieces := rapid.SliceOfN(rapid.OneOf(rapid.SampledFrom(forms), rapid.StringMatching(`[ a-z0-9=:\n]{0,12}`)), 0, 12).Draw(t, "pieces")
		text := strings.Join(pieces, "")
		got := r.Redact(text)
		for _, s := range secrets {
			for _, f := range []string{hex.EncodeToString(s), strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(s), "="))} {
				if strings.Contains(strings.ToLower(got), f) {
					t.Fatalf("%q survives in %q", f, got)
				}
			}
			for _, f := range []string{base64.RawStdEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s)} {
				if strings.Contains(got, f) {
					t.Fatalf("%q survives in %q", f, got)
				}
			}
		}
		if !strings.Contains(got, Redacted) && got != text {
			t.Fatalf("nothing masked, yet %q became %q", text, got)
		}
	})
}

// BenchmarkRedact: a stderr line against the secrets of a large run.
func BenchmarkRedact(b *testing.B) {
	r := NewRedactor()
	for i := range 2000 {
		r.Add([]byte(fmt.Sprintf("secret number %06d of the run", i)))
	}
	line := strings.Repeat("2026-12-02T01:00:00Z INFO check serial=1000000000001 accepted=false ", 3)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		_ = r.Redact(line)
	}
}

// TestExecVerifierDiesWithHarness: a verifier that ignores EOF and
// SIGTERM does not outlive a harness killed with SIGKILL (as a CI job's
// timeout kills it): the parent-death signal ends it.
func TestExecVerifierDiesWithHarness(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux only")
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	exe, err := os.Executable()
	require.NoError(t, err)
	h := exec.Command(exe, "-test.run=^$")
	h.Env = append(os.Environ(), helperEnv+"=harness-of-stubborn", stubbornPidEnv+"="+pidFile)
	out, err := h.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, h.Start())
	line, _ := bufio.NewReader(out).ReadString('\n') // after the verifier answered
	require.Equal(t, "ready\n", line)
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(string(b))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.True(t, alive(pid))

	require.NoError(t, h.Process.Kill())
	_ = h.Wait()
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 20*time.Millisecond,
		"the verifier %d outlived its harness", pid)
}

package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

func newReference(t testing.TB) *reference.Verifier {
	t.Helper()
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	return v
}

func newHTTPClient(t *testing.T, url string) *HTTP {
	t.Helper()
	c, err := NewHTTP(url, HTTPOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestHTTPReferenceSuite(t *testing.T) {
	noLeaks(t)
	srv := httptest.NewServer(NewHandler(newReference(t), "/otp", ServeOptions{}))
	defer srv.Close()
	c := newHTTPClient(t, srv.URL+"/otp/")
	rep, err := harness.Execute(t.Context(), c, harness.Options{Seed: 11, Checks: 10, Timeout: 10 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, "otplab reference verifier", rep.Verifier)
	for _, r := range rep.Results {
		assert.Contains(t, []harness.Verdict{harness.Pass, harness.Skip}, r.Verdict, "%s: %s", r.ID, strings.Join(r.Messages, "\n"))
	}
	require.NoError(t, c.Close())
}

func TestNewHTTPRejects(t *testing.T) {
	for _, u := range []string{"ftp://x/", "http://", "http://h/p?q=1", "http://u:p@h/", "://"} {
		_, err := NewHTTP(u, HTTPOptions{})
		assert.Error(t, err, u)
	}
}

// TestHTTPMisbehaving: each broken server spoils the request with a
// transport failure that names the problem, and the client goes on.
func TestHTTPMisbehaving(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "database is down", http.StatusInternalServerError)
		}, `HTTP status 500 Internal Server Error from POST`},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/login", http.StatusFound)
		}, `(a redirect to "/login", not followed)`},
		{"closed connection", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, "EOF"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>Welcome</html>")
		}, "malformed message: reply: invalid JSON"},
		{"wrong id", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"id":999,"ok":true,"accepted":true}`)
		}, "carries id 999"},
		{"bad type", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"id":%d,"ok":true,"accepted":1}`, idOf(r))
		}, `field "accepted" is a JSON number, want boolean`},
		{"huge body", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"id":%d,"ok":true,"accepted":true,"pad":"%s"}`, idOf(r), strings.Repeat("x", 3<<20))
		}, "a reply body longer than 1048576 bytes"},
		{"hang", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body) // lets the server notice the client leaving
			<-r.Context().Done()
		}, "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			var once sync.Once
			good := NewHandler(newReference(t), "", ServeOptions{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				bad := false
				if strings.HasSuffix(r.URL.Path, "/check") {
					once.Do(func() { bad = true })
				}
				if bad {
					tt.handler(w, r)
					return
				}
				good.ServeHTTP(w, r)
			}))
			defer srv.Close()
			c := newHTTPClient(t, srv.URL)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			_, err := c.Check(ctx, harness.CheckRequest{Serial: "1", Code: "123456"})
			require.ErrorIs(t, err, ErrTransport)
			assert.Contains(t, err.Error(), tt.want)
			if tt.name == "hang" {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			}
			rep, err := c.Check(t.Context(), harness.CheckRequest{Serial: "1", Code: "123456"})
			require.NoError(t, err, "the client must serve the next request")
			assert.False(t, rep.Accepted)
			require.NoError(t, c.Close())
		})
	}
}

func idOf(r *http.Request) int64 {
	body, _ := io.ReadAll(r.Body)
	req, _ := DecodeRequest(body)
	return req.ID
}

func TestHTTPRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := idOf(r)
		switch {
		case strings.HasSuffix(r.URL.Path, "/resync"):
			fmt.Fprintf(w, `{"id":%d,"ok":false,"error":"resync is not implemented","unsupported":true}`, id)
		case strings.HasSuffix(r.URL.Path, "/hello"):
			fmt.Fprintf(w, `{"id":%d,"ok":true,"name":"x","profile":{"look_ahead":10,"lookahead":3}}`, id)
		default:
			fmt.Fprintf(w, `{"id":%d,"ok":false,"error":"serial unknown"}`, id)
		}
	}))
	defer srv.Close()
	c := newHTTPClient(t, srv.URL)
	_, err := c.Resync(t.Context(), harness.ResyncRequest{Serial: "1", Codes: []string{"1", "2"}})
	require.ErrorIs(t, err, harness.ErrUnsupported)
	var refused *harness.RefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, "resync is not implemented", refused.Message)

	err = c.Unlock(t.Context(), "1")
	require.ErrorAs(t, err, &refused)
	assert.False(t, errors.Is(err, harness.ErrUnsupported))
	assert.False(t, errors.Is(err, ErrTransport))

	_, err = c.Describe(t.Context())
	require.ErrorIs(t, err, harness.ErrProfile)
	assert.Contains(t, err.Error(), `unknown field "lookahead"`)
}

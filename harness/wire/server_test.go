package wire

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
)

func TestHandler(t *testing.T) {
	var mu sync.Mutex
	var events []Event
	h := NewHandler(newReference(t), "/v1/", ServeOptions{MaxMessage: 4096, Log: func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	enroll, _ := json.Marshal(Request{ID: 1, Op: OpEnroll, Token: func() *Token { w := TokenFrom(testToken); return &w }()})
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"hello", "POST", "/v1/hello", `{"id":7,"op":"hello","protocol":1}`, 200, `"id":7,"ok":true,"name":"otplab reference verifier","ops":["enroll","check","unlock","resync"],"profile":{`},
		{"hello v2", "POST", "/v1/hello", `{"id":7,"op":"hello","protocol":2}`, 200, `{"id":7,"ok":false,"error":"protocol 2 is not spoken here (want 1)"}`},
		{"enroll", "POST", "/v1/enroll", string(enroll), 200, `{"id":1,"ok":true}`},
		{"check", "POST", "/v1/check", `{"id":2,"op":"check","serial":"1000000000001","code":"755224","time":0}`, 200, `{"id":2,"ok":true,"accepted":true}`},
		{"replay", "POST", "/v1/check", `{"id":3,"op":"check","serial":"1000000000001","code":"755224","time":0}`, 200, `{"id":3,"ok":true,"accepted":false}`},
		{"unlock unknown", "POST", "/v1/unlock", `{"id":4,"op":"unlock","serial":"9"}`, 200, `{"id":4,"ok":false,"error":"unlock 9: unknown token"}`},
		{"unknown op", "POST", "/v1/frobnicate", `{"id":5,"op":"frobnicate"}`, 200, `{"id":5,"ok":false,"error":"op \"frobnicate\": operation not supported by the verifier","unsupported":true}`},
		{"op mismatch", "POST", "/v1/check", `{"id":6,"op":"unlock","serial":"1"}`, 400, `the request's op \"unlock\" does not match the path's \"check\"`},
		{"malformed", "POST", "/v1/check", `{"id":8,"op":"check"}`, 400, `{"id":8,"ok":false,"error":"malformed message: check request 8: missing serial, code or time"}`},
		{"GET", "GET", "/v1/hello", ``, 405, `method GET (want POST)`},
		{"outside prefix", "POST", "/v2/hello", `{}`, 404, `no such path \"/v2/hello\"`},
		{"nested", "POST", "/v1/a/b", `{}`, 404, `no such path`},
		{"too big", "POST", "/v1/check", `{"id":9,"pad":"` + strings.Repeat("x", 5000) + `"}`, 413, `request body too large`},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
		assert.Equal(t, tt.status, w.Code, tt.name)
		assert.Contains(t, w.Body.String(), tt.want, tt.name)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"), tt.name)
		_, err := DecodeReply(w.Body.Bytes(), OpUnlock)
		assert.NoError(t, err, "%s: every answer is a reply", tt.name)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, len(tests))
	assert.Equal(t, "op=enroll serial=1000000000001 status=200 ok=true duration=", events[2].String()[:len("op=enroll serial=1000000000001 status=200 ok=true duration=")])
	for _, e := range events {
		assert.NotContains(t, e.String(), "3132333435", "never the secret")
		assert.NotContains(t, e.String(), "755224", "never the code")
	}
}

func TestServeLines(t *testing.T) {
	in := strings.Join([]string{
		`{"id":1,"op":"hello","protocol":1}`,
		``,
		`garbage`,
		`{"id":2,"op":"unlock","serial":"nobody"}`,
		`{"id":3,"op":"resync","serial":"x","codes":[],"time":0}`,
		`{"id":4,"op":"check","pad":"` + strings.Repeat("x", 300) + `"}`,
		`{"id":5,"op":"check","serial":"x","code":"1","time":0}`,
	}, "\r\n") // no newline after the last line
	var out strings.Builder
	var n atomic.Int32
	err := ServeLines(context.Background(), newReference(t), strings.NewReader(in), &out, ServeOptions{MaxMessage: 200, Log: func(Event) { n.Add(1) }})
	require.NoError(t, err)
	replies := map[int64]string{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var r struct {
			ID int64 `json:"id"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		replies[r.ID] += sc.Text()
	}
	assert.Contains(t, replies[1], `"ok":true,"name":"otplab reference verifier"`)
	assert.Contains(t, replies[0], `invalid JSON at byte 1`)
	assert.Contains(t, replies[0], `a request line longer than 200 bytes`)
	assert.Equal(t, `{"id":2,"ok":false,"error":"unlock nobody: unknown token"}`, replies[2])
	assert.Equal(t, `{"id":3,"ok":true,"accepted":false}`, replies[3])
	assert.Equal(t, `{"id":5,"ok":true,"accepted":false}`, replies[5])
	assert.Equal(t, int32(5), n.Load(), "one event per request answered")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestServeLinesWriteError(t *testing.T) {
	in := strings.Repeat(`{"id":1,"op":"hello","protocol":1}`+"\n", 100)
	err := ServeLines(context.Background(), newReference(t), strings.NewReader(in), failWriter{}, ServeOptions{})
	require.ErrorIs(t, err, io.ErrClosedPipe)
}

// TestHandlerUnsupportedVerifier: a verifier without Describer answers
// hello with every op, and its ErrUnsupported becomes unsupported:true.
func TestHandlerUnsupportedVerifier(t *testing.T) {
	srv := httptest.NewServer(NewHandler(plain{}, "", ServeOptions{}))
	defer srv.Close()
	c := newHTTPClient(t, srv.URL)
	info, err := c.Describe(t.Context())
	require.NoError(t, err)
	assert.Equal(t, Ops(), info.Ops)
	_, err = c.Resync(t.Context(), harness.ResyncRequest{Serial: "1"})
	require.ErrorIs(t, err, harness.ErrUnsupported)
	resp, err := http.Get(srv.URL + "/hello")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// plain is a verifier without Describer that supports nothing.
type plain struct{}

func (plain) Enroll(context.Context, harness.Token) error { return harness.ErrUnsupported }
func (plain) Check(context.Context, harness.CheckRequest) (harness.Reply, error) {
	return harness.Reply{}, harness.ErrUnsupported
}
func (plain) Resync(context.Context, harness.ResyncRequest) (harness.Reply, error) {
	return harness.Reply{}, harness.ErrUnsupported
}
func (plain) Unlock(context.Context, string) error { return harness.ErrUnsupported }

package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/internal/printable"
)

// HTTPOptions configure an [HTTP] client. The zero value is ready to use.
type HTTPOptions struct {
	// Timeout bounds a request whose context has no deadline; zero means
	// [harness.DefaultTimeout].
	Timeout time.Duration
	// MaxBody bounds a reply body; zero means [DefaultMaxMessage].
	MaxBody int64
	// Transport carries the requests; nil means a keep-alive transport
	// made for this client, with TLS as TLSConfig says.
	Transport http.RoundTripper
	// TLSConfig configures HTTPS for the transport made for this client
	// (a verifier with its own CA: set RootCAs); nil means Go's defaults.
	// It is ignored when Transport is set.
	TLSConfig *tls.Config
	// HangAfter is the number of requests in a row that may time out
	// with no reply in between before the client takes the verifier for
	// hung and fails every later request at once, so that a run against
	// a verifier that stopped answering stays bounded; zero means 3, a
	// negative value never.
	HangAfter int
	// Redactor masks token secrets in the reply excerpts that go into
	// errors. The client adds the secret of every token it enrolls; nil
	// means a Redactor of the client's own.
	Redactor *Redactor
}

// HTTP is a protocol v1 client over the http transport: each request is
// POSTed as JSON to PREFIX/<op>, and the reply is the JSON body of a 200
// response, also for ok:false. Any other status, a redirect (never
// followed), a body that is not a reply to that request, or a broken
// connection is a transport failure. Connections are kept alive and
// shared by concurrent callers.
//
// HTTP implements [harness.Verifier] and [harness.Describer]; it is safe
// for concurrent use. Close releases idle connections.
type HTTP struct {
	base      string
	client    *http.Client
	timeout   time.Duration
	max       int64
	hangAfter int
	red       *Redactor
	ids       atomic.Int64
	silent    atomic.Int32 // requests timed out in a row with no reply in between
	gaveUp    atomic.Pointer[error]
	urls      map[string]*url.URL // each op's URL, parsed once; read only
	header    http.Header         // every request's header; read only
	bufs      sync.Pool           // *[]byte reply buffers
}

// NewHTTP returns a client for the verifier at rawURL
// ("http://HOST:PORT/PREFIX"; https works too).
func NewHTTP(rawURL string, opts HTTPOptions) (*HTTP, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
			TLSClientConfig:       opts.TLSConfig,
		}
	}
	c := &HTTP{
		base: strings.TrimRight(u.String(), "/"),
		client: &http.Client{
			Transport: tr,
			// A verifier that redirects is not answering: the 3xx is
			// returned as is and reported.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:   opts.Timeout,
		max:       opts.MaxBody,
		hangAfter: opts.HangAfter,
		red:       opts.Redactor,
	}
	switch {
	case c.hangAfter == 0:
		c.hangAfter = 3
	case c.hangAfter < 0:
		c.hangAfter = int(^uint32(0) >> 1)
	}
	if c.red == nil {
		c.red = NewRedactor()
	}
	c.header = http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	c.urls = make(map[string]*url.URL, len(Ops()))
	for _, op := range Ops() {
		if u, err := url.Parse(c.base + "/" + op); err == nil {
			c.urls[op] = u
		}
	}
	c.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	if c.timeout <= 0 {
		c.timeout = harness.DefaultTimeout
	}
	if c.max <= 0 {
		c.max = DefaultMaxMessage
	}
	return c, nil
}

// CheckURL checks a verifier URL as [NewHTTP] does, without making a
// client.
func CheckURL(rawURL string) error {
	_, err := parseURL(rawURL)
	return err
}

func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("http verifier %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http verifier %q: want http://HOST:PORT/PREFIX", rawURL)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("http verifier %q: a query, fragment or user name has no place in the URL", rawURL)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("http verifier %q: port %s is out of range (1 to 65535)", rawURL, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("http verifier %q: an empty port", rawURL)
	}
	return u, nil
}

// URL returns the verifier's base URL, without a trailing slash.
func (c *HTTP) URL() string { return c.base }

// do posts one request and returns its reply; an ok:false reply is
// returned with its refusal as the error. Secrets are masked in errors.
func (c *HTTP) do(ctx context.Context, req Request) (Reply, error) {
	if gave := c.gaveUp.Load(); gave != nil {
		return Reply{}, fmt.Errorf("%s: %w", req.Op, *gave)
	}
	rep, err := c.post(ctx, req)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		if n := c.silent.Add(1); int(n) >= c.hangAfter {
			gave := fmt.Errorf("%w: verifier %s gave no reply to %d requests in a row: it looks hung, and no request is sent to it any more", ErrTransport, c.base, n)
			c.gaveUp.CompareAndSwap(nil, &gave)
		}
	case errors.Is(err, context.Canceled): // the caller left: that tells nothing
	default:
		c.silent.Store(0) // it answered, or failed in a way that does not take time
	}
	return rep, redactError(c.red, err)
}

func (c *HTTP) post(ctx context.Context, req Request) (Reply, error) {
	req.ID = c.ids.Add(1)
	// The body is not pooled: the transport may still hold it after Do
	// returns.
	body, err := appendRequest(make([]byte, 0, 128), req)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: encode request: %w", req.Op, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	hreq, err := c.request(ctx, req.Op, body)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w: %w", req.Op, ErrTransport, err)
	}
	resp, err := c.client.Do(hreq)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w: %w%s", req.Op, ErrTransport, err, schemeHint(c.base, err))
	}
	bufp := c.bufs.Get().(*[]byte)
	data, eof, readErr := readBody(resp.Body, (*bufp)[:0], c.max+1)
	if cap(data) <= 64<<10 { // a huge reply's buffer is left to the collector
		*bufp = data[:0]
		defer c.bufs.Put(bufp)
	}
	if !eof && int64(len(data)) <= c.max {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		what := fmt.Sprintf("HTTP status %s from POST %s", printable.Text(resp.Status, 100), c.base+"/"+req.Op)
		if loc := resp.Header.Get("Location"); loc != "" {
			what += fmt.Sprintf(" (a redirect to %q, not followed)", loc)
		}
		if len(data) > 0 {
			what += ": " + excerpt([]byte(c.red.Redact(string(data))))
		}
		what += statusHint(c.base, resp.StatusCode, data)
		return Reply{}, fmt.Errorf("%s: %w: %s", req.Op, ErrTransport, what)
	}
	if readErr != nil {
		return Reply{}, fmt.Errorf("%s: %w: reading the reply body: %w", req.Op, ErrTransport, readErr)
	}
	if int64(len(data)) > c.max {
		return Reply{}, fmt.Errorf("%s: %w", req.Op, malformed("a reply body longer than %d bytes", c.max))
	}
	rep, fast := decodeVerdictFast(data, req.Op)
	if !fast {
		if rep, err = DecodeReply(data, req.Op); err != nil {
			return Reply{}, fmt.Errorf("%s: %w", req.Op, screen(c.red, err, data))
		}
	}
	if rep.ID != req.ID {
		return Reply{}, fmt.Errorf("%s: %w", req.Op, screen(c.red, malformed("the reply to request %d carries id %d: %s", req.ID, rep.ID, excerpt(data)), data))
	}
	rep.Error = errorText(c.red, rep.Error)
	return rep, rep.Err(req.Op)
}

// request makes the POST of body to the op's URL, as
// http.NewRequestWithContext makes it, from the URL parsed once per op
// and the header shared by every request (the transport only reads it).
func (c *HTTP) request(ctx context.Context, op string, body []byte) (*http.Request, error) {
	u := c.urls[op]
	if u == nil {
		return http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+op, bytes.NewReader(body))
	}
	hreq := &http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        c.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Host:          u.Host,
		GetBody: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(body)), nil
		},
	}
	return hreq.WithContext(ctx), nil
}

// readBody appends r's bytes to buf, at most limit of them, and reports
// whether it read to the end.
func readBody(r io.Reader, buf []byte, limit int64) (data []byte, eof bool, err error) {
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if int64(len(room)) > limit-int64(len(buf)) {
			room = room[:limit-int64(len(buf))]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, true, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	return buf, false, nil
}

// schemeHint explains a failure to talk to the verifier that comes from
// TLS on one end and plain HTTP on the other, or from a certificate the
// client cannot check.
func schemeHint(base string, err error) string {
	var rec tls.RecordHeaderError
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case strings.HasPrefix(base, "https:") && (errors.As(err, &rec) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")):
		return " (the verifier answered in plain HTTP, not TLS: use an http:// URL)"
	case strings.HasPrefix(base, "http:") && strings.Contains(err.Error(), `malformed HTTP response "\x15\x03`):
		return " (the verifier answered with TLS: use an https:// URL)"
	case errors.As(err, &unknown):
		return " (the verifier's certificate is not signed by a CA the harness trusts: give its CA certificate, conformance run --ca FILE)"
	case errors.As(err, &hostname):
		return " (the verifier's certificate is not for this host name)"
	}
	return ""
}

// statusHint explains a 400 from a TLS server to a plain HTTP request.
func statusHint(base string, status int, body []byte) string {
	if strings.HasPrefix(base, "http:") && status == http.StatusBadRequest && bytes.Contains(bytes.ToLower(body), []byte("https")) {
		return " (the verifier seems to expect TLS: use an https:// URL)"
	}
	return ""
}

// Describe sends hello.
func (c *HTTP) Describe(ctx context.Context) (harness.Info, error) {
	rep, err := c.do(ctx, helloRequest())
	if err != nil {
		return harness.Info{}, err
	}
	return rep.info(), nil
}

// Enroll sends enroll, after adding the token's secret to the client's
// Redactor.
func (c *HTTP) Enroll(ctx context.Context, tok harness.Token) error {
	c.red.Add(tok.Secret)
	_, err := c.do(ctx, enrollRequest(tok))
	return err
}

// Check sends check.
func (c *HTTP) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	rep, err := c.do(ctx, checkRequest(req))
	return rep.verdict(), err
}

// Resync sends resync.
func (c *HTTP) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	rep, err := c.do(ctx, resyncRequest(req))
	return rep.verdict(), err
}

// Unlock sends unlock.
func (c *HTTP) Unlock(ctx context.Context, serial string) error {
	_, err := c.do(ctx, unlockRequest(serial))
	return err
}

// Close closes the idle connections.
func (c *HTTP) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

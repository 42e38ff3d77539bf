package wire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/otplab/otplab/harness"
)

// Event describes one request a server answered, for a log line. It never
// holds a secret or a submitted code.
type Event struct {
	// Op is the operation.
	Op string
	// Serial is the token's serial, if the request named one.
	Serial string
	// Purpose is a check's purpose, when the request gave one.
	Purpose string
	// OK is the reply's ok.
	OK bool
	// Accepted is the verdict of a check or resync, nil for other ops.
	Accepted *bool
	// Locked is the reply's locked.
	Locked bool
	// Error is the reply's error text.
	Error string
	// Status is the HTTP status sent (zero over exec).
	Status int
	// Duration is the time spent answering.
	Duration time.Duration
}

// String is the event as one log line.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "op=%s", e.Op)
	if e.Serial != "" {
		fmt.Fprintf(&b, " serial=%s", e.Serial)
	}
	if e.Purpose != "" {
		fmt.Fprintf(&b, " purpose=%q", e.Purpose)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " status=%d", e.Status)
	}
	fmt.Fprintf(&b, " ok=%t", e.OK)
	if e.Accepted != nil {
		fmt.Fprintf(&b, " accepted=%t", *e.Accepted)
	}
	if e.Locked {
		b.WriteString(" locked=true")
	}
	if e.Error != "" {
		fmt.Fprintf(&b, " error=%q", e.Error)
	}
	fmt.Fprintf(&b, " duration=%s", e.Duration.Round(time.Microsecond))
	return b.String()
}

// answer serves one well-formed request with v. It is the verifier's side
// of both transports.
func answer(ctx context.Context, v harness.Verifier, req Request) Reply {
	rep := Reply{ID: req.ID, OK: true}
	fail := func(err error) Reply {
		rep.OK, rep.Error = false, err.Error()
		rep.Unsupported = errors.Is(err, harness.ErrUnsupported)
		return rep
	}
	switch req.Op {
	case OpHello:
		if req.Protocol != Protocol {
			return fail(fmt.Errorf("protocol %d is not spoken here (want %d)", req.Protocol, Protocol))
		}
		info := harness.Info{Name: "otplab verifier"}
		if d, ok := v.(harness.Describer); ok {
			var err error
			if info, err = d.Describe(ctx); err != nil {
				return fail(err)
			}
		}
		rep.Name, rep.Ops, rep.Profile = info.Name, info.Ops, info.Profile
		if len(rep.Ops) == 0 {
			rep.Ops = Ops()
		}
	case OpEnroll:
		tok, err := req.Token.Harness()
		if err == nil {
			err = v.Enroll(ctx, tok)
		}
		if err != nil {
			return fail(err)
		}
	case OpCheck:
		r, err := v.Check(ctx, harness.CheckRequest{Serial: req.Serial, Code: req.Code, Time: unixTime(req.Time), Purpose: req.Purpose})
		if err != nil {
			return fail(err)
		}
		rep.Accepted, rep.Locked = &r.Accepted, r.Locked
	case OpResync:
		r, err := v.Resync(ctx, harness.ResyncRequest{Serial: req.Serial, Codes: req.Codes, Time: unixTime(req.Time)})
		if err != nil {
			return fail(err)
		}
		rep.Accepted, rep.Locked = &r.Accepted, r.Locked
	case OpUnlock:
		if err := v.Unlock(ctx, req.Serial); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("op %q: %w", req.Op, harness.ErrUnsupported))
	}
	return rep
}

// serveMessage decodes one request, answers it and reports the event.
func serveMessage(ctx context.Context, v harness.Verifier, data []byte) (Reply, Event) {
	start := time.Now()
	req, fast := decodeCheckRequestFast(data)
	var err error
	if !fast {
		req, err = DecodeRequest(data)
	}
	var rep Reply
	if err != nil {
		rep = Reply{ID: req.ID, Error: err.Error()}
	} else {
		rep = answer(ctx, v, req)
	}
	ev := Event{Op: req.Op, Serial: req.Serial, Purpose: req.Purpose, OK: rep.OK, Accepted: rep.Accepted, Locked: rep.Locked, Error: rep.Error, Duration: time.Since(start)}
	if req.Token != nil {
		ev.Serial = req.Token.Serial
	}
	return rep, ev
}

// ServeOptions configure [ServeLines] and [Handler].
type ServeOptions struct {
	// MaxMessage bounds one request; zero means [DefaultMaxMessage].
	MaxMessage int
	// Log, when set, is called once per request answered. It may be
	// called from several goroutines at once.
	Log func(Event)
}

func (o ServeOptions) max() int {
	if o.MaxMessage <= 0 {
		return DefaultMaxMessage
	}
	return o.MaxMessage
}

// maxInFlight bounds the requests ServeLines answers at once.
const maxInFlight = 256

// ServeLines serves v over the exec transport, from the verifier's side:
// it reads one JSON request per line from r and writes one JSON reply per
// line to w, answering requests concurrently (replies may leave in any
// order, as the protocol allows: the harness only has independent requests
// in flight together) and batching replies into few writes. It returns nil
// at EOF on r, once every request read has been answered.
func ServeLines(ctx context.Context, v harness.Verifier, r io.Reader, w io.Writer, opts ServeOptions) error {
	replies := make(chan []byte, maxInFlight)
	writeErr := make(chan error, 1)
	go func() { writeErr <- writeLines(w, replies) }()
	send := func(rep Reply) {
		replies <- append(appendReply(make([]byte, 0, 64), rep), '\n')
	}
	br := bufio.NewReaderSize(r, 64<<10)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	var readErr error
	for {
		line, err := readLine(br, opts.max(), nil)
		if errors.Is(err, errLineTooLong) {
			send(Reply{Error: fmt.Sprintf("%v: a request line longer than %d bytes", ErrMalformed, opts.max())})
			continue
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if blank(line) {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rep, ev := serveMessage(ctx, v, line)
			if opts.Log != nil {
				opts.Log(ev)
			}
			send(rep)
		})
	}
	wg.Wait()
	close(replies)
	if err := <-writeErr; err != nil {
		return fmt.Errorf("serve lines: write: %w", err)
	}
	if readErr != nil {
		return fmt.Errorf("serve lines: read: %w", readErr)
	}
	return nil
}

// writeLines writes the lines from ch, flushing whenever no more are
// waiting. After a write error it keeps draining ch so senders never block.
func writeLines(w io.Writer, ch <-chan []byte) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	for line := range ch {
		if err != nil {
			continue
		}
		_, err = bw.Write(line)
		idle := 0
	more:
		for err == nil {
			select {
			case l, ok := <-ch:
				if !ok {
					break more
				}
				_, err = bw.Write(l)
				idle = 0
			default:
				// Give the requests being answered a chance to join this
				// write before it goes out.
				if idle++; idle > 2 {
					break more
				}
				runtime.Gosched()
			}
		}
		if err == nil {
			err = bw.Flush()
		}
	}
	return err
}

// Handler serves a [harness.Verifier] over the http transport of protocol
// v1: POST PREFIX/<op> with the request as the body. Replies, ok:false
// included, come with status 200; a request that cannot be read gets 400
// with an ok:false body, a method other than POST 405, a path outside the
// prefix 404, a body over the limit 413.
type Handler struct {
	v      harness.Verifier
	prefix string
	opts   ServeOptions
	bufs   sync.Pool // *[]byte request and reply buffers
}

// NewHandler returns a handler serving v under prefix ("" or "/" for the
// root, "/otp" for http://HOST:PORT/otp/<op>).
func NewHandler(v harness.Verifier, prefix string, opts ServeOptions) *Handler {
	h := &Handler{v: v, prefix: strings.TrimRight(prefix, "/"), opts: opts}
	h.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	return h
}

// getBuf takes a buffer from the pool.
func (h *Handler) getBuf() *[]byte { return h.bufs.Get().(*[]byte) }

// putBuf gives p back to the pool holding b (a buffer grown past 64 KiB
// is left to the collector).
func (h *Handler) putBuf(p *[]byte, b []byte) {
	if cap(b) <= 64<<10 {
		*p = b[:0]
		h.bufs.Put(p)
	}
}

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	op, ok := strings.CutPrefix(r.URL.Path, h.prefix+"/")
	if !ok || op == "" || strings.Contains(op, "/") {
		h.reply(w, http.StatusNotFound, Reply{Error: fmt.Sprintf("no such path %q: post to %s/<op>", r.URL.Path, h.prefix)}, Event{Op: op}, start)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reply(w, http.StatusMethodNotAllowed, Reply{Error: "method " + r.Method + " (want POST)"}, Event{Op: op}, start)
		return
	}
	bufp := h.getBuf()
	data, err := readAll(http.MaxBytesReader(w, r.Body, int64(h.opts.max())), (*bufp)[:0])
	defer h.putBuf(bufp, data)
	if err != nil {
		status := http.StatusBadRequest
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			status = http.StatusRequestEntityTooLarge
		}
		h.reply(w, status, Reply{Error: fmt.Sprintf("reading the request: %v", err)}, Event{Op: op}, start)
		return
	}
	req, fast := decodeCheckRequestFast(data)
	if !fast {
		req, err = DecodeRequest(data)
	}
	if err == nil && req.Op != op {
		err = malformed("the request's op %q does not match the path's %q", req.Op, op)
	}
	if err != nil {
		h.reply(w, http.StatusBadRequest, Reply{ID: req.ID, Error: err.Error()}, Event{Op: op, Serial: req.Serial}, start)
		return
	}
	rep := answer(r.Context(), h.v, req)
	ev := Event{Op: op, Serial: req.Serial, Purpose: req.Purpose, OK: rep.OK, Accepted: rep.Accepted, Locked: rep.Locked, Error: rep.Error}
	if req.Token != nil {
		ev.Serial = req.Token.Serial
	}
	h.reply(w, http.StatusOK, rep, ev, start)
}

func (h *Handler) reply(w http.ResponseWriter, status int, rep Reply, ev Event, start time.Time) {
	bufp := h.getBuf()
	body := append(appendReply((*bufp)[:0], rep), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	h.putBuf(bufp, body)
	if h.opts.Log != nil {
		ev.Status, ev.Duration = status, time.Since(start)
		if status != http.StatusOK {
			ev.OK, ev.Error = false, rep.Error
		}
		h.opts.Log(ev)
	}
}

// readAll appends r's bytes to buf until EOF.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

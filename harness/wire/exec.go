package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otplab/otplab/harness"
)

// ExecOptions configure an [Exec] client. The zero value is ready to use.
type ExecOptions struct {
	// Dir is the subprocess's working directory; empty means the
	// current one.
	Dir string
	// Env is the subprocess's environment; nil means the harness's own.
	Env []string
	// Stderr, when set, receives a copy of everything the subprocess
	// writes to its stderr, redacted (see Redactor) a line at a time.
	Stderr io.Writer
	// StderrHead is how many bytes of the start of stderr are kept for
	// error messages; zero means 1 KiB. Runtimes such as Node and Java
	// print the error first and a stack trace after it.
	StderrHead int
	// StderrTail is how many bytes of the end of stderr are kept for error
	// messages; zero means 2 KiB. Runtimes such as Python print the stack
	// trace first and the error last.
	StderrTail int
	// Redactor masks token secrets in the stderr and stdout excerpts that
	// go into errors and into the Stderr copy. The client adds the secret
	// of every token it enrolls; nil means a Redactor of the client's own.
	// Share one to mask secrets that reached the verifier another way.
	Redactor *Redactor
	// MaxLine bounds one reply line; zero means [DefaultMaxMessage]. A
	// longer line is read past, never kept, and fails the pending
	// requests.
	MaxLine int
	// Grace is how long a subprocess gets to exit after EOF on its stdin,
	// or to finish writing after it exited, before it is killed; zero
	// means 1 s.
	Grace time.Duration
	// HangAfter is the number of requests in a row that may time out with
	// no reply in between before the subprocess is taken for hung, killed
	// and restarted for the next request; zero means 3, a negative value
	// never.
	HangAfter int
	// MaxFailedStarts is the number of subprocesses in a row that may end
	// without a single well-formed reply to a request other than hello (a
	// command that does not start, a verifier that dies at once, never
	// answers hello, or answers only hello and then hangs or dies) before
	// the client gives up and fails every later request at once; zero
	// means 3.
	MaxFailedStarts int
}

func (o ExecOptions) withDefaults() ExecOptions {
	if o.StderrHead <= 0 {
		o.StderrHead = 1 << 10
	}
	if o.StderrTail <= 0 {
		o.StderrTail = 2 << 10
	}
	if o.Redactor == nil {
		o.Redactor = NewRedactor()
	}
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxMessage
	}
	if o.Grace <= 0 {
		o.Grace = time.Second
	}
	if o.HangAfter == 0 {
		o.HangAfter = 3
	} else if o.HangAfter < 0 {
		o.HangAfter = int(^uint(0) >> 1)
	}
	if o.MaxFailedStarts <= 0 {
		o.MaxFailedStarts = 3
	}
	return o
}

// ErrClosed is returned by a client used after Close.
var ErrClosed = errors.New("client closed")

// Exec is a protocol v1 client over the exec transport: it runs the
// verifier as one long-lived subprocess, writes one JSON request per line
// to its stdin and reads one JSON reply per line from its stdout. Requests
// from concurrent callers are pipelined and matched to replies by id, in
// whatever order the replies come.
//
// The subprocess starts with the first request and is greeted with hello.
// When it ends, every request it had not answered fails at once with its
// exit status and the tail of its stderr, and the next request starts a
// new one (tokens enrolled in the old one are gone, which is fine: every
// case enrolls its own). A subprocess that leaves HangAfter requests in a
// row unanswered is killed and restarted the same way. After
// MaxFailedStarts subprocesses in a row that answered nothing but hello,
// the client gives up and fails every request at once.
//
// Exec implements [harness.Verifier] and [harness.Describer]; it is safe
// for concurrent use. Close stops the subprocess and its process group.
type Exec struct {
	argv []string
	name string
	opts ExecOptions
	red  *Redactor
	ids  atomic.Int64
	wg   sync.WaitGroup // every goroutine of every subprocess

	mu     sync.Mutex
	cur    *proc
	info   harness.Info // the current subprocess's hello reply
	failed int          // subprocesses in a row that never answered
	last   error        // why the last one failed
	gaveUp error
	closed bool
	starts int
}

// NewExec returns a client that runs argv (a program and its arguments,
// not a shell command line). Nothing starts before the first request.
func NewExec(argv []string, opts ExecOptions) (*Exec, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("exec verifier: empty command")
	}
	opts = opts.withDefaults()
	return &Exec{argv: append([]string(nil), argv...), name: filepath.Base(argv[0]), opts: opts, red: opts.Redactor}, nil
}

// Starts returns the number of subprocesses started that answered hello.
func (c *Exec) Starts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.starts
}

// live returns the running subprocess, starting one (and greeting it with
// hello) when there is none.
func (c *Exec) live(ctx context.Context) (*proc, harness.Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, harness.Info{}, ErrClosed
	}
	if c.cur != nil {
		if !c.cur.ending() {
			return c.cur, c.info, nil
		}
		<-c.cur.done // soon: the process is dead or being killed
		if c.cur.answered.Load() {
			c.failed = 0
		} else {
			c.failed++
		}
		c.last, c.cur = c.cur.end, nil
	}
	if c.gaveUp != nil {
		return nil, harness.Info{}, c.gaveUp
	}
	if c.failed >= c.opts.MaxFailedStarts {
		last := strings.TrimPrefix(c.last.Error(), ErrTransport.Error()+": ")
		c.gaveUp = fmt.Errorf("%w: verifier %s gave no reply in %d starts in a row, so it is not started again; the last time: %s",
			ErrTransport, c.name, c.failed, last)
		return nil, harness.Info{}, c.gaveUp
	}
	if err := ctx.Err(); err != nil {
		return nil, harness.Info{}, err
	}
	p, err := c.startProc()
	if err != nil {
		c.failed++
		c.last = err
		return nil, harness.Info{}, err
	}
	rep, err := p.roundTrip(ctx, helloRequest())
	if err == nil {
		err = rep.Err(OpHello)
	}
	if err != nil {
		p.kill(fmt.Errorf("hello failed: %w", err))
		<-p.done
		if errors.Is(err, errEnding) {
			err = p.end
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			c.failed++
			c.last = err
		}
		return nil, harness.Info{}, err
	}
	c.cur, c.info = p, rep.info()
	c.starts++
	return p, c.info, nil
}

// do sends one request and turns an ok:false reply into an error, with
// secrets masked.
func (c *Exec) do(ctx context.Context, req Request) (Reply, error) {
	rep, err := c.send(ctx, req)
	return rep, redactError(c.red, err)
}

func (c *Exec) send(ctx context.Context, req Request) (Reply, error) {
	p, _, err := c.live(ctx)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", req.Op, err)
	}
	rep, err := p.roundTrip(ctx, req)
	if errors.Is(err, errEnding) {
		// The process ended before the request left: it goes to the
		// next one.
		if p, _, err = c.live(ctx); err != nil {
			return Reply{}, fmt.Errorf("%s: %w", req.Op, err)
		}
		rep, err = p.roundTrip(ctx, req)
	}
	if err != nil {
		if errors.Is(err, errEnding) {
			err = fmt.Errorf("%s: %w: %w", req.Op, ErrTransport, err)
		}
		return Reply{}, err
	}
	return rep, rep.Err(req.Op)
}

// Describe answers hello: the subprocess's name, ops and profile.
func (c *Exec) Describe(ctx context.Context) (harness.Info, error) {
	_, info, err := c.live(ctx)
	return info, redactError(c.red, err)
}

// Enroll sends enroll, after adding the token's secret to the client's
// Redactor.
func (c *Exec) Enroll(ctx context.Context, tok harness.Token) error {
	c.red.Add(tok.Secret)
	_, err := c.do(ctx, enrollRequest(tok))
	return err
}

// Check sends check.
func (c *Exec) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	rep, err := c.do(ctx, checkRequest(req))
	return rep.verdict(), err
}

// Resync sends resync.
func (c *Exec) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	rep, err := c.do(ctx, resyncRequest(req))
	return rep.verdict(), err
}

// Unlock sends unlock.
func (c *Exec) Unlock(ctx context.Context, serial string) error {
	_, err := c.do(ctx, unlockRequest(serial))
	return err
}

// Close ends the subprocess (EOF on its stdin, then a kill of its process
// group after the grace period), reaps it and waits for every goroutine
// of the client. Later requests fail with [ErrClosed].
func (c *Exec) Close() error {
	c.mu.Lock()
	p := c.cur
	c.closed, c.cur = true, nil
	c.mu.Unlock()
	if p != nil {
		p.close()
	}
	c.wg.Wait()
	return nil
}

// MarkEnv is the environment variable the [Exec] client sets, to a value
// of its own for each subprocess, so that it can recognise the
// subprocess's descendants. On Linux the client makes its process a child
// subreaper (PR_SET_CHILD_SUBREAPER): a descendant that left the
// verifier's process group (with setsid, say) and outlived the verifier
// comes back to the harness as an orphan, and is killed when the
// verifier ends if it still carries the variable. A descendant that both
// leaves the process group and clears its environment, or any descendant
// on other systems, escapes.
const MarkEnv = "OTPLAB_VERIFIER_RUN"

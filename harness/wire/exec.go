package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	// Clock says whether the client sets the clock of a verifier that
	// reads its own (see [ClockControl]); the zero value leaves it alone.
	// With a clock set, requests at different times are never in flight
	// together: a check or resync at a new time waits for the replies to
	// those in flight, the clock is set, and it goes. Requests at one time
	// still pipeline. Enroll and unlock go at once, at the clock's time.
	Clock ClockControl
	// FakeTimeLib is the path of libfaketime's preload library for
	// [ClockFake] and [ClockAuto]; empty means [FindFakeTime]'s.
	FakeTimeLib string
	// Now reads the real clock, for the clock file's first time; nil
	// means time.Now.
	Now func() time.Time
	// StartTimeout is how long a new subprocess gets to answer hello; zero
	// means [DefaultStartTimeout]. Start-up is not on the clock of the
	// request that causes it: that request waits for hello beyond its own
	// deadline, and its deadline is pushed back by the time the start
	// took. An interpreter started under libfaketime on a busy machine can
	// take seconds before it reads its first line.
	StartTimeout time.Duration
	// StartOption names the setting that raises StartTimeout in the
	// message of a hello that timed out (a command-line flag, say); empty
	// means "ExecOptions.StartTimeout".
	StartOption string
}

// DefaultStartTimeout bounds a subprocess's start when
// ExecOptions.StartTimeout is zero.
const DefaultStartTimeout = 30 * time.Second

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
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StartOption == "" {
		o.StartOption = "ExecOptions.StartTimeout"
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
// With ExecOptions.Clock, the client also sets the verifier's clock to
// each request's time, and implements [harness.ClockSetter] so that the
// engine judges a profile with clock "wall" on simulated time.
//
// Exec implements [harness.Verifier], [harness.Describer] and
// [harness.ClockSetter]; it is safe for concurrent use. Close stops the
// subprocess and its process group.
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
	clock  clockState
}

// clockState is how the client controls the verifier's clock.
type clockState struct {
	mode    ClockControl
	gate    *clockGate // nil with ClockLeave
	lib     string     // libfaketime, once found
	decided bool       // whether processes start under the clock is known
	on      bool       // processes start under the clock
	note    string     // why the clock is not set, when it was asked for
}

// NewExec returns a client that runs argv (a program and its arguments,
// not a shell command line). Nothing starts before the first request.
func NewExec(argv []string, opts ExecOptions) (*Exec, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("exec verifier: empty command")
	}
	opts = opts.withDefaults()
	c := &Exec{argv: append([]string(nil), argv...), name: filepath.Base(argv[0]), opts: opts, red: opts.Redactor}
	c.clock.mode = opts.Clock
	switch opts.Clock {
	case ClockLeave:
		c.clock.decided = true
		return c, nil
	case ClockFake:
		if err := c.decideFake(); err != nil {
			return nil, err
		}
	case ClockFile:
		c.clock.decided, c.clock.on = true, true
	case ClockAuto:
	default:
		return nil, fmt.Errorf("exec verifier %s: clock control %q (want fake, file, auto or none)", c.name, string(opts.Clock))
	}
	c.clock.gate = &clockGate{now: opts.Now, sign: opts.Clock != ClockFile}
	return c, nil
}

// decideFake finds libfaketime and decides whether it reaches the
// verifier: processes start under it, or on real time with a note.
func (c *Exec) decideFake() error {
	lib := c.opts.FakeTimeLib
	if lib == "" {
		var err error
		if lib, err = FindFakeTime(); err != nil {
			return fmt.Errorf("exec verifier %s: fake clock: %w", c.name, err)
		}
	} else if st, err := os.Stat(lib); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("exec verifier %s: fake clock: %w: no library at %s", c.name, ErrNoFakeTime, lib)
	}
	c.clock.lib, c.clock.decided = lib, true
	if err := FakeTimeReach(c.argv[0]); err != nil {
		c.clock.note = err.Error() + "; it runs on real time"
		return nil
	}
	c.clock.on = true
	return nil
}

// SetsClock reports whether the verifier's clock follows the requests'
// times: the client was asked to set it, and can (see ClockNote). With
// [ClockAuto] it is known after hello.
func (c *Exec) SetsClock() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clock.on
}

// ClockNote says why the verifier's clock is not set although it was
// asked for (libfaketime cannot reach the program); it is empty
// otherwise.
func (c *Exec) ClockNote() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clock.note
}

// ClockSets returns how many times the client set the verifier's clock.
func (c *Exec) ClockSets() int {
	if c.clock.gate == nil {
		return 0
	}
	c.clock.gate.mu.Lock()
	defer c.clock.gate.mu.Unlock()
	return c.clock.gate.sets
}

// gate returns the gate requests go through, nil when the clock is
// not set; with ClockAuto it first starts the verifier to learn its
// clock.
func (c *Exec) gate(ctx context.Context) (*clockGate, error) {
	if c.clock.gate == nil {
		return nil, nil
	}
	c.mu.Lock()
	decided, on := c.clock.decided, c.clock.on
	c.mu.Unlock()
	if !decided {
		if _, _, err := c.live(ctx); err != nil {
			return nil, err
		}
		c.mu.Lock()
		on = c.clock.on
		c.mu.Unlock()
	}
	if !on {
		return nil, nil
	}
	return c.clock.gate, nil
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
	for {
		p, info, again, err := c.startLocked(ctx)
		if !again {
			return p, info, err
		}
	}
}

// startLocked starts a subprocess and greets it; again is set when it
// was stopped at once because its hello decided that processes start
// under the fake clock.
func (c *Exec) startLocked(ctx context.Context) (_ *proc, _ harness.Info, again bool, _ error) {
	// A request's deadline is not the start's (startContext): one that
	// passed while the request waited its turn (a busy machine, another
	// request's start) still lets the process start. A cancellation ends
	// it.
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, harness.Info{}, false, err
	}
	p, err := c.startProc()
	if err != nil {
		c.failed++
		c.last = err
		return nil, harness.Info{}, false, err
	}
	hctx, cancel := startContext(ctx, c.opts.StartTimeout)
	rep, err := p.roundTrip(hctx, helloRequest())
	timedOut := errors.Is(hctx.Err(), context.DeadlineExceeded)
	cancel()
	if err == nil {
		err = rep.Err(OpHello)
	} else if timedOut {
		err = fmt.Errorf("%w: verifier %s did not answer hello within %v of starting (%s raises it)%s",
			ErrTransport, c.name, c.opts.StartTimeout, c.opts.StartOption, p.stderrLog.note())
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
		return nil, harness.Info{}, false, err
	}
	info := rep.info()
	if !c.clock.decided {
		// ClockAuto: the first hello says whether the fake clock is
		// needed.
		if info.Profile == nil || info.Profile.Clock != harness.ClockWall {
			c.clock.decided = true
		} else {
			err := c.decideFake()
			if err == nil && c.clock.on {
				p.close() // replaced by one under the fake clock
				return nil, harness.Info{}, true, nil
			}
			if err != nil {
				err = fmt.Errorf("%w: %w", ErrTransport, err)
				c.gaveUp = err
				p.close()
				return nil, harness.Info{}, false, err
			}
		}
	}
	c.cur, c.info = p, info
	c.starts++
	return p, c.info, false, nil
}

// do sends one request and turns an ok:false reply into an error, with
// secrets masked.
func (c *Exec) do(ctx context.Context, req Request) (Reply, error) {
	g, err := c.gate(ctx)
	if err != nil {
		return Reply{}, redactError(c.red, fmt.Errorf("%s: %w", req.Op, err))
	}
	if g != nil {
		if err := g.enter(ctx, req.Time, req.Op == OpCheck || req.Op == OpResync); err != nil {
			return Reply{}, fmt.Errorf("%s: %w", req.Op, err)
		}
		defer g.leave()
	}
	rep, err := c.send(ctx, req)
	return rep, redactError(c.red, err)
}

func (c *Exec) send(ctx context.Context, req Request) (Reply, error) {
	began := time.Now()
	p, _, err := c.live(ctx)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", req.Op, err)
	}
	if waited := time.Since(began); waited > time.Millisecond {
		// A start (this request's or another's) is not the verifier's
		// time to reply.
		var cancel context.CancelFunc
		ctx, cancel = pushBack(ctx, waited)
		defer cancel()
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

// startContext returns the context of a subprocess's hello: the
// request's values and its cancellation, but not its deadline, which is
// the start timeout's instead.
func startContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	stop := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cancel()
		}
	})
	return hctx, func() { stop(); cancel() }
}

// pushBack returns ctx with its deadline, if it has one, later by d; a
// cancellation of ctx still reaches it.
func pushBack(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return startContext(ctx, time.Until(deadline.Add(d)))
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
	if c.clock.gate != nil {
		c.clock.gate.close()
	}
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

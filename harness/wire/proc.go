package wire

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// proc is one generation of an exec verifier: the running subprocess, the
// requests it has not answered yet and the goroutines that serve it. When
// the process ends, for whatever reason, every pending request fails at
// once with that reason and the tail of its stderr.
type proc struct {
	c         *Exec
	cmd       *exec.Cmd
	stdin     *os.File // our end of the subprocess's stdin
	stdout    *os.File // our end of its stdout
	stderr    *os.File // our end of its stderr
	stderrLog *stderrLog
	mark      string // MarkEnv=ID, in the environment of the process and its descendants

	mu        sync.Mutex
	pending   map[int64]*call
	abandoned map[int64]struct{} // ids whose caller gave up: a late reply is not an error
	out, next []byte             // encoded requests waiting for the writer
	gone      bool               // the process ended; no request may be added
	reason    error              // why the harness ended it, if it did

	wake       chan struct{} // the writer has work
	exited     chan struct{} // the process has been reaped
	readerDone chan struct{}
	stderrDone chan struct{}
	done       chan struct{} // everything is over: pending requests failed, goroutines gone
	end        error         // why the process ended, for callers

	answered atomic.Bool  // a well-formed reply to a request other than hello came back
	silent   atomic.Int32 // requests timed out in a row with no reply in between
}

// call is a request waiting for its reply.
type call struct {
	op string
	ch chan result
}

type result struct {
	raw  rawReply
	line []byte
	err  error
}

// startProc starts the subprocess and its three goroutines.
func (c *Exec) startProc() (*proc, error) {
	p := &proc{
		c:          c,
		stderrLog:  newStderrLog(c.opts.StderrHead, c.opts.StderrTail, c.red, c.opts.Stderr),
		pending:    make(map[int64]*call),
		abandoned:  make(map[int64]struct{}),
		wake:       make(chan struct{}, 1),
		exited:     make(chan struct{}),
		readerDone: make(chan struct{}),
		stderrDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: start %s: %w", ErrTransport, c.name, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return nil, fmt.Errorf("%w: start %s: %w", ErrTransport, c.name, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, fmt.Errorf("%w: start %s: %w", ErrTransport, c.name, err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	p.mark = MarkEnv + "=" + hex.EncodeToString(id[:])
	env := c.opts.Env
	if env == nil {
		env = os.Environ()
	}
	if c.clock.on {
		file, err := c.clock.gate.file()
		if err != nil {
			closeAll(inR, inW, outR, outW, errR, errW)
			return nil, fmt.Errorf("start %s: %w", c.name, err)
		}
		lib := ""
		if c.clock.mode != ClockFile {
			lib = c.clock.lib
		}
		env = fakeEnv(env, file, lib)
	}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Dir, cmd.Env = c.opts.Dir, append(env[:len(env):len(env)], p.mark)
	becomeSubreaper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	ownProcessGroup(cmd)
	err = startLocked(cmd, p.exited)
	closeAll(inR, outW, errW) // the child has its copies
	if err != nil {
		closeAll(inW, outR, errR)
		return nil, fmt.Errorf("%w: start %s: %w", ErrTransport, c.name, err)
	}
	p.cmd, p.stdin, p.stdout, p.stderr = cmd, inW, outR, errR
	c.wg.Add(4)
	go p.waiter()
	go p.reader()
	go p.writer()
	go p.stderrCopier()
	return p, nil
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// roundTrip sends one request and waits for its reply, the caller's
// context, or the end of the process, whichever comes first.
func (p *proc) roundTrip(ctx context.Context, req Request) (Reply, error) {
	req.ID = p.c.ids.Add(1)
	line, err := json.Marshal(req)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: encode request: %w", req.Op, err)
	}
	cl := &call{op: req.Op, ch: make(chan result, 1)}
	p.mu.Lock()
	if p.gone || p.reason != nil {
		p.mu.Unlock()
		return Reply{}, errEnding
	}
	p.pending[req.ID] = cl
	p.out = append(append(p.out, line...), '\n')
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	select {
	case res := <-cl.ch:
		return p.finishCall(req, res)
	case <-ctx.Done():
	}
	p.mu.Lock()
	_, still := p.pending[req.ID]
	if still {
		delete(p.pending, req.ID)
		p.abandon(req.ID)
	}
	p.mu.Unlock()
	if !still { // the reply or the end raced with the deadline
		return p.finishCall(req, <-cl.ch)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if n := p.silent.Add(1); int(n) >= p.c.opts.HangAfter {
			p.kill(fmt.Errorf("no reply to %d requests in a row: the verifier looks hung and was stopped", n))
		}
	}
	return Reply{}, fmt.Errorf("%s: %w: no reply: %w%s", req.Op, ErrTransport, ctx.Err(), p.stderrLog.note())
}

// errEnding is returned by roundTrip when the process is ending before
// the request could be sent: the request may go to the next one.
var errEnding = errors.New("the verifier process is ending")

// ending reports whether the process has ended or is being stopped.
func (p *proc) ending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gone || p.reason != nil
}

// abandon remembers an id whose reply may still come. The set is bounded:
// when full it is cleared, and a reply that late counts as unexpected.
func (p *proc) abandon(id int64) {
	if len(p.abandoned) >= 1<<16 {
		clear(p.abandoned)
	}
	p.abandoned[id] = struct{}{}
}

func (p *proc) finishCall(req Request, res result) (Reply, error) {
	if res.err != nil {
		return Reply{}, fmt.Errorf("%s: %w", req.Op, res.err)
	}
	rep, err := res.raw.reply(req.Op, res.line)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", req.Op, screen(p.c.red, err, res.line))
	}
	rep.Error = errorText(p.c.red, rep.Error)
	return rep, nil
}

// writer copies encoded requests to the subprocess's stdin, as many as are
// waiting in one write.
func (p *proc) writer() {
	defer p.c.wg.Done()
	for {
		select {
		case <-p.wake:
		case <-p.exited:
			return
		}
		// Let the other callers that are about to send add their requests
		// to this write: fewer, larger writes under load.
		runtime.Gosched()
		p.mu.Lock()
		buf := p.out
		p.out, p.next = p.next[:0], nil
		p.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := p.stdin.Write(buf); err != nil {
			select {
			case <-p.exited: // the process ended first: that is the news
			case <-time.After(p.c.opts.Grace):
				p.kill(fmt.Errorf("writing to its stdin: %w", err))
			}
			return
		}
		p.mu.Lock()
		if p.next == nil && cap(buf) <= 1<<20 {
			p.next = buf[:0]
		}
		p.mu.Unlock()
	}
}

// reader matches reply lines to pending requests.
func (p *proc) reader() {
	defer p.c.wg.Done()
	defer close(p.readerDone)
	br := bufio.NewReaderSize(p.stdout, 64<<10)
	for {
		// A line too long fails the pending requests at once, not
		// once the verifier ends it (it may never).
		line, err := readLine(br, p.c.opts.MaxLine, func() {
			p.violation(malformed("a reply line longer than %d bytes", p.c.opts.MaxLine))
		})
		switch {
		case errors.Is(err, errLineTooLong):
			continue
		case err != nil:
			// Stdout is closed: if the process does not exit by itself
			// right away, it can answer nothing more anyway.
			select {
			case <-p.exited:
			case <-time.After(p.c.opts.Grace):
				p.kill(errors.New("it closed its stdout"))
			}
			return
		}
		if blank(line) {
			continue
		}
		p.dispatch(line)
	}
}

// dispatch hands one reply line to the request it answers. A line that
// answers no pending request is a protocol violation, and every pending
// request fails with it: with pipelining the harness cannot tell which one
// it was meant for, and waiting for the deadline would only hide it.
func (p *proc) dispatch(line []byte) {
	raw, id, hasID, err := decodeEnvelope(line)
	err = screen(p.c.red, err, line)
	p.mu.Lock()
	cl, ok := p.pending[id]
	if hasID && ok {
		delete(p.pending, id)
		p.mu.Unlock()
		p.silent.Store(0)
		if err == nil && cl.op != OpHello {
			p.answered.Store(true)
		}
		cl.ch <- result{raw: raw, line: line, err: err}
		return
	}
	if _, late := p.abandoned[id]; hasID && late {
		delete(p.abandoned, id)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	if err == nil {
		err = screen(p.c.red, malformed("a reply with id %d, which matches no pending request: %s", id, excerpt(line)), line)
	}
	p.violation(err)
}

// violation fails every pending request with err.
func (p *proc) violation(err error) {
	p.mu.Lock()
	calls := p.pending
	p.pending = make(map[int64]*call)
	p.mu.Unlock()
	for _, cl := range calls {
		cl.ch <- result{err: fmt.Errorf("the verifier broke the protocol: %w", err)}
	}
}

func (p *proc) stderrCopier() {
	defer p.c.wg.Done()
	defer close(p.stderrDone)
	_, _ = io.Copy(p.stderrLog, p.stderr)
	p.stderrLog.flush()
}

// kill stops the process (and its process group) on the harness's
// initiative, recording why.
func (p *proc) kill(why error) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.mu.Lock()
	if p.reason == nil {
		p.reason = why
	}
	p.mu.Unlock()
	killGroup(p.cmd)
}

// waiter reaps the process, collects what it still wrote, and fails every
// request left pending.
func (p *proc) waiter() {
	defer p.c.wg.Done()
	waitErr := p.cmd.Wait()
	close(p.exited)
	killGroup(p.cmd)    // children that kept our pipes open
	killOrphans(p.mark) // and those that left the process group
	p.settle(p.readerDone, p.stdout)
	p.settle(p.stderrDone, p.stderr)
	_ = p.stdin.Close()

	p.mu.Lock()
	p.gone = true
	why := p.reason
	calls := p.pending
	p.pending = nil
	p.mu.Unlock()
	status := "exited"
	if waitErr != nil {
		status = waitErr.Error()
	}
	if why != nil {
		p.end = fmt.Errorf("%w: verifier %s stopped (%s): %w%s", ErrTransport, p.c.name, status, why, p.stderrLog.note())
	} else {
		p.end = fmt.Errorf("%w: verifier %s ended (%s)%s", ErrTransport, p.c.name, status, p.stderrLog.note())
	}
	for _, cl := range calls {
		cl.ch <- result{err: p.end}
	}
	close(p.done)
}

// settle gives a pipe reader a moment to read what the process wrote
// before it ended, then closes the pipe to stop it.
func (p *proc) settle(done <-chan struct{}, f *os.File) {
	select {
	case <-done:
	case <-time.After(p.c.opts.Grace):
	}
	_ = f.Close()
	<-done
}

// close ends the process politely: EOF on its stdin, then, after the
// grace period, a kill.
func (p *proc) close() {
	p.mu.Lock()
	gone := p.gone
	p.mu.Unlock()
	if !gone {
		p.mu.Lock()
		if p.reason == nil {
			p.reason = errors.New("the harness closed it")
		}
		p.mu.Unlock()
		_ = p.stdin.Close() // EOF: the protocol's "shut down"
		select {
		case <-p.done:
		case <-time.After(p.c.opts.Grace):
			killGroup(p.cmd)
		}
	}
	<-p.done
}

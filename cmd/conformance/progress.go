package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/otplab/otplab/cmd/conformance/internal/expect"
	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report"
)

// progress shows the run while it goes: on a terminal one live line that
// names the case running (failures stay on screen), otherwise one plain
// line per case that ended, for CI logs. Its wait line shows the waits for
// real time. It is safe for concurrent use.
type progress struct {
	w      io.Writer
	live   bool
	expect *expect.List
	wait   *waitLine

	mu       sync.Mutex // guards every write to w, and wait's state
	liveText string     // the case line a terminal shows
}

// newProgress shows progress on w; a case the expect file excuses is
// shown as KNOWN, not as a failure.
func newProgress(w io.Writer, known *expect.List) *progress {
	return newProgressOn(w, known, isTerminal(w), realClock{})
}

// newProgressOn is newProgress with the terminal question answered and
// the wait line's clock given.
func newProgressOn(w io.Writer, known *expect.List, live bool, clock waitClock) *progress {
	p := &progress{w: w, live: live, expect: known}
	p.wait = newWaitLine(p, clock)
	return p
}

// waiting is the harness.Options.Waiting callback.
func (p *progress) waiting(w harness.Waiting) { p.wait.report(w) }

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// clearLine returns to the start of the line and erases it.
const clearLine = "\r\x1b[K"

func (p *progress) update(pr harness.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Result == nil {
		p.liveText = fmt.Sprintf("[%d/%d] %s ...", pr.Index, pr.Total, pr.ID)
		if p.live && !p.wait.shown {
			fmt.Fprint(p.w, clearLine+p.liveText)
		}
		return
	}
	r := pr.Result
	e, listed := p.expect.Judge(*r)
	label := report.Label(*r, e, listed)
	line := fmt.Sprintf("[%d/%d] %-10s %s (%s)", pr.Index, pr.Total, label, r.ID, report.Round(r.Duration))
	switch {
	case !p.live:
		fmt.Fprintln(p.w, line)
	case label != string(harness.Pass) && label != string(harness.Skip):
		fmt.Fprintf(p.w, "%s%s\n", clearLine, line)
		if p.wait.shown {
			p.wait.writeLocked() // the wait line comes back below it
		}
	}
}

// finish stops the wait line and clears the live line. It does nothing on
// a nil progress.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wait.finishLocked()
	if p.live {
		fmt.Fprint(p.w, clearLine)
	}
}

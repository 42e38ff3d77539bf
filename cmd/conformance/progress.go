package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/otplab/otplab/harness"
)

// progress shows the run while it goes: on a terminal one transient line
// that names the case running, cleared at the end; in a log nothing per
// case. Every case is printed once, in the summary that follows. Its wait line shows
// the waits for real time. It is safe for concurrent use.
type progress struct {
	w    io.Writer
	live bool
	wait *waitLine

	mu       sync.Mutex // guards every write to w, and wait's state
	liveText string     // the case line a terminal shows
}

// newProgress shows progress on w.
func newProgress(w io.Writer) *progress {
	return newProgressOn(w, isTerminal(w), realClock{})
}

// newProgressOn is newProgress with the terminal question answered and
// the wait line's clock given.
func newProgressOn(w io.Writer, live bool, clock waitClock) *progress {
	p := &progress{w: w, live: live}
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

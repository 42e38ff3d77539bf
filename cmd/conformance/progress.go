package main

import (
	"fmt"
	"io"
	"os"

	"github.com/otplab/otplab/cmd/conformance/internal/expect"
	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report"
)

// progress shows the run while it goes: on a terminal one live line that
// names the case running (failures stay on screen), otherwise one plain
// line per case that ended, for CI logs.
type progress struct {
	w      io.Writer
	live   bool
	expect *expect.List
}

// newProgress shows progress on w; a case the expect file excuses is
// shown as KNOWN, not as a failure.
func newProgress(w io.Writer, known *expect.List) *progress {
	return &progress{w: w, live: isTerminal(w), expect: known}
}

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
	if pr.Result == nil {
		if p.live {
			fmt.Fprintf(p.w, "%s[%d/%d] %s ...", clearLine, pr.Index, pr.Total, pr.ID)
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
	}
}

// finish clears the live line. It does nothing on a nil progress.
func (p *progress) finish() {
	if p != nil && p.live {
		fmt.Fprint(p.w, clearLine)
	}
}

package wire

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// stderrLog keeps what a subprocess writes to its stderr for error
// messages: its first bytes and its last ones, since runtimes differ on
// where the news is (Node and Java print the error first and a stack
// after it, Python the stack first and the error last). Everything kept
// or copied is redacted first, a line at a time, so that a secret is
// never cut in two by the buffers' edges and escapes masking. It is safe
// for concurrent use.
type stderrLog struct {
	mu      sync.Mutex
	red     *Redactor
	headMax int
	tailMax int
	head    []byte // the first headMax bytes, redacted
	tail    []byte // the last tailMax bytes after head, redacted
	cut     bool   // bytes between head and tail were dropped
	pending []byte // the start of a line not ended yet, not redacted
	copy    io.Writer
}

// pendingMax bounds a line kept whole for redaction; a longer one is
// redacted and let through in pieces, keeping back enough of its end
// that a secret across the cut is still seen whole.
const pendingMax = 16 << 10

func newStderrLog(headMax, tailMax int, red *Redactor, copy io.Writer) *stderrLog {
	return &stderrLog{headMax: headMax, tailMax: tailMax, red: red, copy: copy}
}

// Write takes in a piece of stderr.
func (l *stderrLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, p...)
	hold := l.red.Longest()
	if bytes.IndexByte(p, '\n') >= 0 {
		// Whole lines go out once the text after them is long enough
		// to hold the rest of any secret form that starts in them (a
		// hex dump split over lines, say), so that such a form is seen
		// whole and masked now.
		s := l.red.Redact(string(l.pending))
		limit := max(len(s)-max(hold-1, 0), 0)
		if i := strings.LastIndexByte(s[:limit], '\n'); i >= 0 {
			l.keep(s[:i+1])
			l.pending = append(l.pending[:0], s[i+1:]...)
		}
	}
	if len(l.pending) > max(pendingMax, 2*hold) {
		// Any secret that starts before the last hold-1 bytes ends
		// inside the buffer, so it is masked now.
		s := l.red.Redact(string(l.pending))
		cut := max(len(s)-max(hold-1, 0), 0)
		l.keep(s[:cut])
		l.pending = append(l.pending[:0], s[cut:]...)
	}
	return len(p), nil
}

// flush lets the last, unterminated line through.
func (l *stderrLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		l.keep(l.red.Redact(string(l.pending)))
		l.pending = l.pending[:0]
	}
}

// keep stores redacted text and passes it to the copy.
func (l *stderrLog) keep(s string) {
	if s == "" {
		return
	}
	if l.copy != nil {
		_, _ = io.WriteString(l.copy, s) // a failing copy must not stop the log
	}
	if n := min(l.headMax-len(l.head), len(s)); n > 0 {
		l.head = append(l.head, s[:n]...)
		s = s[n:]
	}
	l.tail = append(l.tail, s...)
	if over := len(l.tail) - l.tailMax; over > 0 {
		l.tail = append(l.tail[:0], l.tail[over:]...)
		l.cut = true
	}
}

// parts returns the kept head and tail (the tail with the unterminated
// line), redacted again for secrets added since they were written, and
// whether bytes between them were dropped.
func (l *stderrLog) parts() (head, tail string, cut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	head = l.red.Redact(string(l.head))
	tail = l.red.Redact(string(l.tail) + string(l.pending))
	cut = l.cut
	// The text held back for redaction counts against the bounds too.
	if n := min(l.headMax-len(head), len(tail)); n > 0 && !cut {
		head, tail = head+tail[:n], tail[n:]
	}
	if over := len(tail) - l.tailMax; over > 0 {
		tail, cut = tail[over:], true
	}
	return head, tail, cut
}

// String returns what is kept, trimmed; "..." marks a gap.
func (l *stderrLog) String() string {
	head, tail, cut := l.parts()
	if cut {
		return clean(head) + "\n...\n" + clean(tail)
	}
	return clean(head + tail)
}

// noteHead and noteTail bound the stderr quoted in one error message.
const (
	noteHead = 384
	noteTail = 512
)

// note returns " (stderr: ...)" with the start and the end of stderr, at
// most noteHead and noteTail bytes, or "".
func (l *stderrLog) note() string {
	head, tail, cut := l.parts()
	whole := head + tail
	var s string
	if !cut && len(whole) <= noteHead+noteTail {
		s = clean(whole)
	} else {
		if !cut {
			head, tail = whole[:noteHead], whole[noteHead:]
		}
		if len(head) > noteHead {
			head = head[:noteHead]
		}
		if len(tail) > noteTail {
			tail = tail[len(tail)-noteTail:]
		}
		s = strings.TrimRightFunc(clean(head), isSpace) + " ... " + strings.TrimLeftFunc(clean(tail), isSpace)
	}
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (stderr: %q)", s)
}

// clean trims white space and drops broken UTF-8 (from the cuts).
func clean(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "")) }

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

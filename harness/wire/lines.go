package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// errLineTooLong reports a line longer than the limit; the line has been
// read past and discarded.
var errLineTooLong = errors.New("line too long")

// readLine returns the next line of br without its line ending, as a fresh
// slice. A line longer than max bytes is read to its end without being
// kept and reported as errLineTooLong, so a verifier that writes a line of
// many megabytes costs time, never memory. A last line without a newline
// is returned with a nil error; io.EOF comes after it.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max+2 { // room for "\r\n"
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return bytes.TrimRight(line, "\r\n"), nil
		default:
			return nil, err
		}
	}
}

// blank reports whether a line holds only white space.
func blank(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }

// tail keeps the last bytes written to it: the end of a subprocess's
// stderr, for error messages. It is safe for concurrent use.
type tail struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	cut  bool // bytes were dropped from the front
	copy io.Writer
}

func newTail(max int, copy io.Writer) *tail { return &tail{max: max, copy: copy} }

// Write keeps the last max bytes of everything written.
func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.copy != nil {
		_, _ = t.copy.Write(p) // a failing copy must not stop the tail
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	return len(p), nil
}

// String returns the kept bytes, trimmed, marked when the front was cut.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(bytes.TrimSpace(bytes.ToValidUTF8(t.buf, []byte("\uFFFD"))))
	if s != "" && t.cut {
		s = "..." + s
	}
	return s
}

// noteMax bounds the stderr quoted in one error message.
const noteMax = 512

// note returns " (stderr: ...)" with the end of the tail, at most noteMax
// bytes, or "".
func (t *tail) note() string {
	s := t.String()
	if s == "" {
		return ""
	}
	if len(s) > noteMax {
		s = "..." + strings.ToValidUTF8(s[len(s)-noteMax:], "")
	}
	return fmt.Sprintf(" (stderr: %q)", s)
}

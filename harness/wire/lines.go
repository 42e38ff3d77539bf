package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// errLineTooLong reports a line longer than the limit; the line has been
// read past and discarded.
var errLineTooLong = errors.New("line too long")

// readLine returns the next line of br without its line ending ("\n",
// with any "\r" before it), as a fresh slice. A line longer than max bytes
// is read to its end without being kept and reported as errLineTooLong,
// so a verifier that writes a line of many megabytes costs time, never
// memory; tooLong, if set, is called as soon as the line is known to be
// too long, before the rest of it is read past (which may take forever if
// the writer stops without ending it). A last line without a newline is
// returned with a nil error; io.EOF comes after it.
func readLine(br *bufio.Reader, max int, tooLong func()) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		body := chunk
		if err == nil {
			body = chunk[:len(chunk)-1]
		}
		if len(line)+len(body) > max+1 { // room for a '\r'
			if tooLong != nil {
				tooLong()
			}
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, body...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil, errors.Is(err, io.EOF) && len(line) > 0:
			line = bytes.TrimRight(line, "\r")
			if len(line) > max {
				if tooLong != nil {
					tooLong()
				}
				return nil, errLineTooLong
			}
			if line == nil {
				line = []byte{}
			}
			return line, nil
		default:
			return nil, err
		}
	}
}

// blank reports whether a line holds only white space.
func blank(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }

package wire

import (
	"encoding/json"
	"strconv"
)

// The hot messages of a run (a check and its reply) are encoded and
// decoded by hand here, on a fast path that gives exactly what the
// encoding/json path gives: the encoders write the bytes json.Marshal
// writes, and the decoders accept only the plain shapes they fully
// understand (known keys in any order, each once, ASCII strings without
// escapes, integers, booleans) and hand anything else to the strict
// decoders of message.go, whose errors stay the only ones a peer sees.

// plainASCII reports whether json.Marshal writes s as it is between two
// quotes: printable ASCII without the characters it escapes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// appendString appends s as json.Marshal encodes it.
func appendString(buf []byte, s string) []byte {
	if plainASCII(s) {
		buf = append(buf, '"')
		buf = append(buf, s...)
		return append(buf, '"')
	}
	b, _ := json.Marshal(s) // a string always encodes
	return append(buf, b...)
}

// appendRequest appends the request's JSON encoding, the bytes of
// [Request.MarshalJSON]: by hand for check, through encoding/json for the
// other ops.
func appendRequest(buf []byte, r Request) ([]byte, error) {
	if r.Op != OpCheck {
		b, err := json.Marshal(r)
		return append(buf, b...), err
	}
	buf = append(buf, `{"id":`...)
	buf = strconv.AppendInt(buf, r.ID, 10)
	buf = append(buf, `,"op":"check","serial":`...)
	buf = appendString(buf, r.Serial)
	buf = append(buf, `,"code":`...)
	buf = appendString(buf, r.Code)
	buf = append(buf, `,"time":`...)
	buf = strconv.AppendInt(buf, r.Time, 10)
	if r.Purpose != "" {
		buf = append(buf, `,"purpose":`...)
		buf = appendString(buf, r.Purpose)
	}
	return append(buf, '}'), nil
}

// appendReply appends the reply's JSON encoding, the bytes json.Marshal
// writes for it: by hand for a reply without hello fields, through
// encoding/json otherwise.
func appendReply(buf []byte, r Reply) []byte {
	if r.Name != "" || len(r.Ops) > 0 || r.Profile != nil {
		b, _ := json.Marshal(r) // a Reply always encodes
		return append(buf, b...)
	}
	buf = append(buf, `{"id":`...)
	buf = strconv.AppendInt(buf, r.ID, 10)
	buf = append(buf, `,"ok":`...)
	buf = strconv.AppendBool(buf, r.OK)
	if r.Error != "" {
		buf = append(buf, `,"error":`...)
		buf = appendString(buf, r.Error)
	}
	if r.Unsupported {
		buf = append(buf, `,"unsupported":true`...)
	}
	if r.Accepted != nil {
		buf = append(buf, `,"accepted":`...)
		buf = strconv.AppendBool(buf, *r.Accepted)
	}
	if r.Locked {
		buf = append(buf, `,"locked":true`...)
	}
	return append(buf, '}')
}

// scanner reads the plain JSON shapes of the fast path. Any byte it does
// not expect sets bad, and the caller falls back to encoding/json.
type scanner struct {
	data  []byte
	i     int
	bad   bool
	first bool // no key read yet in the object
	done  bool // the object ended, with nothing after it
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c after optional white space.
func (s *scanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.data) && s.data[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (s *scanner) str() []byte {
	s.space()
	if s.i >= len(s.data) || s.data[s.i] != '"' {
		s.bad = true
		return nil
	}
	start := s.i + 1
	for j := start; j < len(s.data); j++ {
		switch c := s.data[j]; {
		case c == '"':
			s.i = j + 1
			return s.data[start:j]
		case c < 0x20 || c >= 0x7f || c == '\\':
			s.bad = true
			return nil
		}
	}
	s.bad = true
	return nil
}

// int reads a JSON integer that fits an int64: an optional minus, then 0
// or a non-zero digit followed by digits, and no fraction or exponent.
func (s *scanner) int() int64 {
	s.space()
	start := s.i
	j := s.i
	if j < len(s.data) && s.data[j] == '-' {
		j++
	}
	digits := j
	for j < len(s.data) && s.data[j] >= '0' && s.data[j] <= '9' {
		j++
	}
	if j == digits || (s.data[digits] == '0' && j > digits+1) {
		s.bad = true
		return 0
	}
	if j < len(s.data) && (s.data[j] == '.' || s.data[j] == 'e' || s.data[j] == 'E') {
		s.bad = true
		return 0
	}
	n, err := strconv.ParseInt(string(s.data[start:j]), 10, 64)
	if err != nil {
		s.bad = true
		return 0
	}
	s.i = j
	return n
}

// bool reads true or false.
func (s *scanner) bool() bool {
	s.space()
	rest := s.data[s.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		s.i += 4
		return true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		s.i += 5
		return false
	}
	s.bad = true
	return false
}

// begin reads the opening brace of an object.
func (s *scanner) begin() {
	if !s.byte('{') {
		s.bad = true
	}
	s.first = true
}

// key reads the next key of the object and the colon after it; it
// reports false at the object's end (then done is set when nothing but
// white space follows) or at anything not plain (then bad is set).
func (s *scanner) key() ([]byte, bool) {
	if s.bad {
		return nil, false
	}
	if s.first || !s.byte(',') {
		// The object's start, or no comma: only its end may come.
		if s.byte('}') {
			s.space()
			s.done = s.i == len(s.data)
			s.bad = !s.done
			return nil, false
		}
		if !s.first {
			s.bad = true
			return nil, false
		}
	}
	s.first = false
	k := s.str()
	if s.bad || !s.byte(':') {
		s.bad = true
		return nil, false
	}
	return k, true
}

// decodeCheckRequestFast decodes a check request of the plain shape,
// reporting false for anything else (another op, an unknown or repeated
// key, escapes, a missing field), which [DecodeRequest] then reads. What
// it returns is what DecodeRequest returns for the same bytes.
func decodeCheckRequestFast(data []byte) (Request, bool) {
	s := scanner{data: data}
	var req Request
	const (
		hasID = 1 << iota
		hasOp
		hasSerial
		hasCode
		hasTime
		hasPurpose
	)
	seen := 0
	for s.begin(); ; {
		key, more := s.key()
		if !more {
			break
		}
		bit := 0
		switch string(key) {
		case "id":
			bit, req.ID = hasID, s.int()
		case "op":
			bit = hasOp
			if string(s.str()) != OpCheck {
				s.bad = true
			}
		case "serial":
			bit, req.Serial = hasSerial, string(s.str())
		case "code":
			bit, req.Code = hasCode, string(s.str())
		case "time":
			bit, req.Time = hasTime, s.int()
		case "purpose":
			bit, req.Purpose = hasPurpose, string(s.str())
		}
		if bit == 0 || seen&bit != 0 {
			s.bad = true
		}
		seen |= bit
	}
	if !s.done || s.bad || seen&(hasID|hasOp|hasSerial|hasCode|hasTime) != hasID|hasOp|hasSerial|hasCode|hasTime {
		return Request{}, false
	}
	req.Op = OpCheck
	return req, true
}

// decodeVerdictFast decodes an ok:true reply to a check or resync of the
// plain shape (id, ok, accepted and locked, each once), reporting false
// for anything else, which [DecodeReply] then reads. What it returns is
// what DecodeReply returns for the same bytes.
func decodeVerdictFast(data []byte, op string) (Reply, bool) {
	if op != OpCheck && op != OpResync {
		return Reply{}, false
	}
	s := scanner{data: data}
	var rep Reply
	var accepted bool
	const (
		hasID = 1 << iota
		hasOK
		hasAccepted
		hasLocked
	)
	seen := 0
	for s.begin(); ; {
		key, more := s.key()
		if !more {
			break
		}
		bit := 0
		switch string(key) {
		case "id":
			bit, rep.ID = hasID, s.int()
		case "ok":
			bit, rep.OK = hasOK, s.bool()
		case "accepted":
			bit, accepted = hasAccepted, s.bool()
		case "locked":
			bit, rep.Locked = hasLocked, s.bool()
		}
		if bit == 0 || seen&bit != 0 {
			s.bad = true
		}
		seen |= bit
	}
	if !s.done || s.bad || !rep.OK || seen&(hasID|hasOK|hasAccepted) != hasID|hasOK|hasAccepted {
		return Reply{}, false
	}
	rep.Accepted = &accepted
	return rep, true
}

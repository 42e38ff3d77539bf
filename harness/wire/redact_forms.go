package wire

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// The printed forms of a byte string that [Redactor] finds however they
// are laid out, for secrets of at least streamMin bytes. Text is read as
// several streams of units, each unit remembering the span of text it came
// from, and a secret is looked for in each stream:
//
//   - hex digits, in any case, with up to maxSep separators between them
//     (spaces, colons, commas, line breaks and indentation, quotes,
//     brackets) and 0x or \x prefixes: "3132...", "31 32 ...", "31:32",
//     "0x31, 0x32", a hex dump split over lines;
//   - base32 letters, in any case, with spaces, dashes, padding and line
//     breaks between them: "GEZD GNBV ..." as authenticator apps show it;
//   - base64 letters (standard or URL alphabet) with line breaks between
//     them, as MIME and PEM wrap them;
//   - integers from -128 to 255 separated by commas, spaces or brackets,
//     taken as bytes: [49, 50, ...] (Python, Rust, Java's signed bytes, Go's
//     %v, a Node Buffer's JSON);
//   - the bytes that a string literal stands for, with the escapes of C,
//     Python, JSON and Go (\xNN, \uNNNN, \UNNNNNNNN, \NNN octal, \n, \\, \', \"), once
//     and twice escaped (a repr inside a JSON log line), and raw text:
//     b'12345...', b'\x31\x32...', "\u0031\u0032...".
const (
	// streamMin is the shortest secret, in bytes, looked for in the
	// streams: shorter ones are masked in their contiguous forms only,
	// since a few bytes recur in ordinary text once separators are
	// skipped.
	streamMin = 8
	// maxSep is the most separator characters allowed between two units
	// of one form (a line break and an indentation).
	maxSep = 16
	// spanPerByte bounds the text one byte of a secret takes in any
	// stream form ("0x31," and a run of maxSep separators for each of two
	// hex digits).
	spanPerByte = 2*(maxSep+1) + 4
)

// streams are the stream indexes of a Redactor.
type streams struct {
	hex, b32, b64, bytes *formIndex
}

// formIndex maps the first streamKey units of the forms of secrets in one
// stream to the whole forms; pairs has a bit set for the first two units
// of each, a cheap test that skips most positions.
type formIndex struct {
	forms map[string][]string
	pairs [1 << 16 / 64]uint64
}

func (x *formIndex) put(f string) {
	if len(f) < streamKey {
		return
	}
	x.forms[f[:streamKey]] = append(x.forms[f[:streamKey]], f)
	p := uint(f[0])<<8 | uint(f[1])
	x.pairs[p/64] |= 1 << (p % 64)
}

func (x *formIndex) maybe(a, b byte) bool {
	p := uint(a)<<8 | uint(b)
	return x.pairs[p/64]&(1<<(p%64)) != 0
}

// streamKey is the length of the index keys, in units.
const streamKey = 8

func (s *streams) add(secret []byte) {
	if len(secret) < streamMin {
		return
	}
	if s.hex == nil {
		s.hex, s.b32, s.b64, s.bytes = newFormIndex(), newFormIndex(), newFormIndex(), newFormIndex()
	}
	s.hex.put(hex.EncodeToString(secret))
	s.b32.put(strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)))
	s.b64.put(base64.RawStdEncoding.EncodeToString(secret))
	s.bytes.put(string(secret))
}

func newFormIndex() *formIndex { return &formIndex{forms: map[string][]string{}} }

// stream is text read as units: unit i stands for the text
// span[i].from to span[i].to. A unit whose span is marked brk ends a
// run: no form spans it.
type stream struct {
	units []byte
	span  []span
}

type span struct {
	from, to int32
	brk      bool
}

// newStream returns an empty stream with room for n units.
func newStream(n int) stream {
	return stream{units: make([]byte, 0, n), span: make([]span, 0, n)}
}

func (st *stream) push(u byte, from, to int) {
	st.units, st.span = append(st.units, u), append(st.span, span{from: int32(from), to: int32(to)})
}

func (st *stream) cut(at int) {
	if n := len(st.span); n > 0 && !st.span[n-1].brk {
		st.units, st.span = append(st.units, 0), append(st.span, span{from: int32(at), to: int32(at), brk: true})
	}
}

// mark sets hit over the text of every form of index found in st.
func (st *stream) mark(index *formIndex, hit *[]bool, n int) {
	u := st.units
	for i := 0; i+streamKey <= len(u); i++ {
		if !index.maybe(u[i], u[i+1]) {
			continue
		}
	forms:
		for _, f := range index.forms[string(u[i:i+streamKey])] {
			if i+len(f) > len(u) || string(u[i:i+len(f)]) != f {
				continue
			}
			for _, sp := range st.span[i : i+len(f)] {
				if sp.brk {
					continue forms
				}
			}
			if *hit == nil {
				*hit = make([]bool, n)
			}
			for j := st.span[i].from; j < st.span[i+len(f)-1].to; j++ {
				(*hit)[j] = true
			}
		}
	}
}

// separated builds a stream of the characters that unit maps (to a
// non-zero unit), allowing runs of up to maxSep characters for which sep
// is true between them; any other character ends a run. prefix, when
// set, returns the length of a prefix to skip like a separator at i.
func separated(s string, unit func(byte) byte, sep func(byte) bool, prefix func(s string, i int) int) stream {
	st := newStream(len(s))
	run := 0
	for i := 0; i < len(s); {
		if prefix != nil {
			if n := prefix(s, i); n > 0 {
				run += n
				i += n
				if run > maxSep {
					st.cut(i)
				}
				continue
			}
		}
		c := s[i]
		if u := unit(c); u != 0 {
			if run > maxSep {
				st.cut(i)
			}
			st.push(u, i, i+1)
			run = 0
		} else if sep(c) {
			run++
		} else {
			st.cut(i)
			run = 0
		}
		i++
	}
	return st
}

func hexUnit(c byte) byte {
	switch {
	case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		return c
	case 'A' <= c && c <= 'F':
		return c + ('a' - 'A')
	}
	return 0
}

func hexSep(c byte) bool { return strings.IndexByte(" \t\r\n:,;.-_'\"[](){}<>", c) >= 0 }

// hexPrefix skips "0x" and "\x" before a hex digit; a 0 that ends a run
// of hex digits ("00X1") is a digit, not a prefix.
func hexPrefix(s string, i int) int {
	if i > 0 && s[i] == '0' && hexUnit(s[i-1]) != 0 {
		return 0
	}
	if i+2 < len(s) && (s[i] == '0' || s[i] == '\\') && (s[i+1] == 'x' || s[i+1] == 'X') && hexUnit(s[i+2]) != 0 {
		return 2
	}
	return 0
}

func b32Unit(c byte) byte {
	switch {
	case 'a' <= c && c <= 'z', '2' <= c && c <= '7':
		return c
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	}
	return 0
}

func b32Sep(c byte) bool {
	return c == ' ' || c == '-' || c == '=' || c == '\t' || c == '\r' || c == '\n'
}

func b64Unit(c byte) byte {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '+', c == '/':
		return c
	case c == '-':
		return '+'
	case c == '_':
		return '/'
	}
	return 0
}

func b64Sep(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// decimals reads integers from -128 to 255 (a byte, signed or not)
// separated by up to maxSep commas, spaces, semicolons or brackets.
func decimals(s string) stream {
	st := newStream(len(s) / 2)
	run := 0
	for i := 0; i < len(s); {
		c := s[i]
		j := i
		if c == '-' && i+1 < len(s) && isDigit(s[i+1]) {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			k := j
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			v, ok := 0, k-j <= 3
			for _, d := range s[j:k] {
				v = v*10 + int(d-'0')
			}
			if j > i {
				v = -v
			}
			if !ok || v < -128 || v > 255 || (k < len(s) && isWordByte(s[k])) || (i > 0 && isWordByte(s[i-1])) {
				st.cut(i)
			} else {
				if run > maxSep {
					st.cut(i)
				}
				st.push(byte(v), i, k)
			}
			run = 0
			i = k
			continue
		}
		if strings.IndexByte(" \t\r\n,;[](){}", c) >= 0 {
			run++
		} else {
			st.cut(i)
			run = 0
		}
		i++
	}
	return st
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isWordByte reports a letter, a digit, a dot or an underscore: what
// makes a number part of a longer token (a version, a name, a float).
func isWordByte(c byte) bool {
	return isDigit(c) || c == '.' || c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// unescape reads units (bytes of text, each standing for in[from:to] of
// the original) as a string literal's body: escapes become the bytes they
// stand for, other bytes stand for themselves. It never cuts a run.
//
// A \u escape from 0x80 to 0xff stands for that byte when latin1 is set
// (a byte string printed as text, one character a byte) and for its UTF-8
// encoding otherwise.
//
// With loose set, a doubled backslash is read as a backslash that escapes
// nothing, so that the second one starts an escape: text just before a
// literal can end in a backslash ("\\\x31" is then a backslash and 0x31).
func unescape(in stream, latin1, loose bool) stream {
	u := in.units
	st := stream{units: make([]byte, 0, len(u)), span: make([]span, 0, len(u))}
	for i := 0; i < len(u); {
		if u[i] != '\\' || i+1 >= len(u) || (loose && u[i+1] == '\\') {
			st.units, st.span = append(st.units, u[i]), append(st.span, in.span[i])
			i++
			continue
		}
		n, vals := escape(u[i+1:], latin1)
		if n == 0 {
			st.units, st.span = append(st.units, u[i]), append(st.span, in.span[i])
			i++
			continue
		}
		sp := span{from: in.span[i].from, to: in.span[i+n].to}
		for _, v := range vals {
			st.units, st.span = append(st.units, v), append(st.span, sp)
		}
		i += n + 1
	}
	return st
}

// escape decodes the escape after a backslash: it returns how many bytes
// of u it used and the bytes it stands for, or 0 if u starts no escape.
func escape(u []byte, latin1 bool) (int, []byte) {
	hexVal := func(b []byte) (int, bool) {
		v := 0
		for _, c := range b {
			h := hexUnit(c)
			if h == 0 {
				return 0, false
			}
			if h <= '9' {
				v = v*16 + int(h-'0')
			} else {
				v = v*16 + int(h-'a'+10)
			}
		}
		return v, true
	}
	switch c := u[0]; {
	case c == 'x' && len(u) >= 3:
		if v, ok := hexVal(u[1:3]); ok {
			return 3, []byte{byte(v)}
		}
	case c == 'u' && len(u) >= 5:
		if v, ok := hexVal(u[1:5]); ok {
			if v < 0x80 || (latin1 && v <= 0xff) {
				return 5, []byte{byte(v)}
			}
			return 5, []byte(string(rune(v)))
		}
	case c == 'U' && len(u) >= 9:
		if v, ok := hexVal(u[1:9]); ok && v <= utf8.MaxRune {
			if v < 0x80 || (latin1 && v <= 0xff) {
				return 9, []byte{byte(v)}
			}
			return 9, []byte(string(rune(v)))
		}
	case '0' <= c && c <= '7':
		n, v := 0, 0
		for n < 3 && n < len(u) && '0' <= u[n] && u[n] <= '7' {
			v = v*8 + int(u[n]-'0')
			n++
		}
		if v <= 0xff {
			return n, []byte{byte(v)}
		}
	default:
		if i := strings.IndexByte(`nrtabfv\'"`, c); i >= 0 {
			return 1, []byte{"\n\r\t\a\b\f\v\\'\""[i]}
		}
	}
	return 0, nil
}

// markStreams sets hit over every stream form of a secret in s.
func (x *streams) markStreams(s string, hit *[]bool) {
	if x.hex == nil {
		return
	}
	hx := separated(s, hexUnit, hexSep, hexPrefix)
	hx.mark(x.hex, hit, len(s))
	b32 := separated(s, b32Unit, b32Sep, nil)
	b32.mark(x.b32, hit, len(s))
	b64 := separated(s, b64Unit, b64Sep, nil)
	b64.mark(x.b64, hit, len(s))
	dec := decimals(s)
	dec.mark(x.bytes, hit, len(s))
	raw := stream{units: []byte(s), span: make([]span, len(s))}
	for i := range raw.span {
		raw.span[i] = span{from: int32(i), to: int32(i + 1)}
	}
	once := unescape(raw, true, false)
	once.mark(x.bytes, hit, len(s)) // raw text too: no escape is raw
	twice := unescape(once, true, false)
	twice.mark(x.bytes, hit, len(s))
	if strings.Contains(s, `\u`) {
		utf := unescape(raw, false, false)
		utf.mark(x.bytes, hit, len(s))
		utf2 := unescape(utf, false, false)
		utf2.mark(x.bytes, hit, len(s))
	}
	if strings.Contains(s, `\\`) {
		loose := unescape(raw, true, true)
		loose.mark(x.bytes, hit, len(s))
	}
	// Hex and decimals inside a literal that was escaped once more (a
	// repr in a JSON log line) are found by the first two; escaped hex
	// of the escaped text ("\\x31") is found by the hex stream through
	// its \x prefix.
}

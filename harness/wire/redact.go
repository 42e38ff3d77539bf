package wire

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces a secret that [Redactor.Redact] finds.
const Redacted = "[REDACTED]"

// minForm is the length under which an encoded secret is not masked: a
// secret that short (a byte or two) protects nothing, and masking every
// pair of hex digits would make messages unreadable.
const minForm = 4

// Redactor masks token secrets in text that came from a verifier (its
// stderr, a reply line that is not a reply, an HTTP error body) before
// the text goes into an error message or a report. It knows each secret
// in the encodings a verifier is likely to print: hex (any letter case),
// base32 (any letter case, with and without padding) and base64 (standard
// and URL alphabets, with and without padding); and, for a secret of at
// least 8 bytes, the forms common languages print a byte string in: hex
// or base32 grouped or split over lines, base64 wrapped, a list of byte
// values, and a string literal with escapes (see redact_forms.go).
//
// The [Exec] and [HTTP] clients add the secret of every token they enroll
// to their Redactor; [Redactor.Add] adds others. The zero value is not
// usable: use [NewRedactor]. A nil *Redactor masks nothing. It is safe for
// concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	seen    map[string]bool
	forms   []form
	width   int                 // the length of the shortest form: the key length of the indexes
	folded  map[string][]string // lower-case hex and base32 forms, matched ignoring ASCII case, by their first width bytes
	exact   map[string][]string // base64 forms, matched as they are, by their first width bytes
	streams streams             // the forms with separators and escapes, of secrets of streamMin bytes or more
	longest int
}

// form is one encoding of a secret.
type form struct {
	text string
	fold bool // matched ignoring ASCII case (text is lower case)
}

// NewRedactor returns a Redactor that knows no secret yet.
func NewRedactor() *Redactor { return &Redactor{seen: make(map[string]bool)} }

// Add makes r mask secret from now on.
func (r *Redactor) Add(secret []byte) {
	if r == nil || len(secret) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[string(secret)] {
		return
	}
	r.seen[string(secret)] = true
	r.streams.add(secret)
	if len(secret) >= streamMin {
		r.longest = max(r.longest, len(secret)*spanPerByte)
	}
	var forms []form
	add := func(s string, fold bool) {
		if len(s) >= minForm && !slices.Contains(forms, form{s, fold}) {
			forms = append(forms, form{s, fold})
		}
	}
	add(hex.EncodeToString(secret), true)
	add(lowerASCII(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)), true)
	add(lowerASCII(base32.StdEncoding.EncodeToString(secret)), true)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString(secret), false)
	}
	if len(forms) == 0 {
		return
	}
	r.forms = append(r.forms, forms...)
	width := r.width
	for _, f := range forms {
		r.longest = max(r.longest, len(f.text))
		if width == 0 || len(f.text) < width {
			width = len(f.text)
		}
	}
	if width != r.width { // a shorter form: index everything again
		r.width, r.folded, r.exact = width, map[string][]string{}, map[string][]string{}
		forms = r.forms
	}
	for _, f := range forms {
		m := r.exact
		if f.fold {
			m = r.folded
		}
		m[f.text[:r.width]] = append(m[f.text[:r.width]], f.text)
	}
}

// Longest returns the length of the longest text that an encoded form r
// masks can take, zero if it knows no secret.
func (r *Redactor) Longest() int {
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.longest
}

// Redact returns s with every occurrence of a known secret, in any of
// its encodings, replaced by [Redacted]. It takes time in proportion to
// the length of s, however many secrets r knows.
func (r *Redactor) Redact(s string) string { return r.RedactPrefix(s, len(s)) }

// RedactPrefix returns the first n bytes of s (all of s if shorter)
// masked as [Redactor.Redact] masks them, judged on s, so that a secret
// that starts before n and ends after it is masked whole. It reads at most
// n plus [Redactor.Longest] bytes of s, so a huge s costs no more than
// its start.
func (r *Redactor) RedactPrefix(s string, n int) string {
	n = min(max(n, 0), len(s))
	if r == nil || n == 0 {
		return s[:n]
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	s = s[:min(len(s), n+r.longest)]
	shortest := r.width // the shortest text a form can take
	if r.streams.hex != nil {
		shortest = min(shortest, streamMin) // a secret's raw bytes
	}
	if r.width == 0 || len(s) < shortest {
		return s[:n]
	}
	var hit []bool // hit[i]: byte i of s belongs to a secret
	r.streams.markStreams(s, &hit)
	scan := func(text string, index map[string][]string) {
		if len(index) == 0 {
			return
		}
		for i := 0; i+r.width <= len(text); i++ {
			for _, f := range index[text[i:i+r.width]] {
				if !strings.HasPrefix(text[i:], f) {
					continue
				}
				if hit == nil {
					hit = make([]bool, len(s))
				}
				for j := i; j < i+len(f); j++ {
					hit[j] = true
				}
			}
		}
	}
	scan(s, r.exact)
	if len(r.folded) > 0 {
		scan(lowerASCII(s), r.folded) // same length and offsets as s
	}
	if hit == nil {
		return s[:n]
	}
	out := make([]byte, 0, n)
	for i := 0; i < n; {
		if !hit[i] {
			out = append(out, s[i])
			i++
			continue
		}
		out = append(out, Redacted...)
		for i < len(s) && hit[i] {
			i++
		}
	}
	return string(out)
}

// lowerASCII lower-cases ASCII letters only, so that byte offsets stay
// those of s.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// redactedError is an error whose message had secrets masked; it still
// wraps the original for errors.Is and errors.As.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactError masks secrets in err's message.
func redactError(r *Redactor, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := r.Redact(msg); red != msg {
		return &redactedError{err: err, msg: red}
	}
	return err
}

// screen returns err, or, when data (a reply line or body that err
// quotes) holds a secret r knows, an error that says so and quotes data
// masked: the quote in err may have cut a secret short of being seen.
func screen(r *Redactor, err error, data []byte) error {
	if err == nil {
		return nil
	}
	if red := r.Redact(string(data)); red != string(data) {
		return malformed("a reply that holds a token's secret (masked here): %s", excerpt([]byte(red)))
	}
	return err
}

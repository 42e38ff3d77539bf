package wire

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/otplab/otplab/harness"
	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

// printedForms are the ways common languages print a byte string, with
// the names the tests show.
var printedForms = []struct {
	name string
	form func(secret []byte, n int) string // n varies separators and cuts
}{
	{"hex", func(s []byte, _ int) string { return hex.EncodeToString(s) }},
	{"hex with spaces", func(s []byte, _ int) string { return spaced(hex.EncodeToString(s), 2, " ") }},
	{"HEX with colons", func(s []byte, _ int) string { return strings.ToUpper(spaced(hex.EncodeToString(s), 2, ":")) }},
	{"hex 0x list", func(s []byte, _ int) string {
		var p []string
		for _, b := range s {
			p = append(p, fmt.Sprintf("0x%02x", b))
		}
		return "{" + strings.Join(p, ", ") + "}"
	}},
	{"hex over two lines", func(s []byte, n int) string {
		h := hex.EncodeToString(s)
		cut := 1 + n%(len(h)-1)
		return h[:cut] + "\n    " + h[cut:]
	}},
	{"hex dump lines", func(s []byte, _ int) string {
		h := spaced(hex.EncodeToString(s), 2, " ")
		var b strings.Builder
		for len(h) > 24 {
			b.WriteString(h[:24] + "\n")
			h = h[24:]
		}
		return b.String() + h
	}},
	{"base32 grouped", func(s []byte, _ int) string {
		return strings.ToLower(spaced(strings.TrimRight(base32.StdEncoding.EncodeToString(s), "="), 4, " "))
	}},
	{"BASE32 grouped with dashes", func(s []byte, _ int) string {
		return spaced(base32.StdEncoding.EncodeToString(s), 4, "-")
	}},
	{"base64 wrapped", func(s []byte, n int) string {
		return spaced(base64.StdEncoding.EncodeToString(s), 4+n%20, "\n")
	}},
	{"python bytes repr", func(s []byte, _ int) string { return pyRepr(s) }},
	{"python list", func(s []byte, _ int) string { return fmt.Sprint(ints(s, false, ", ")) }},
	{"java signed bytes", func(s []byte, _ int) string { return fmt.Sprint(ints(s, true, ", ")) }},
	{"go %v", func(s []byte, _ int) string { return fmt.Sprintf("%v", s) }},
	{"go %q", func(s []byte, _ int) string { return strconv.Quote(string(s)) }},
	{"go %x with spaces", func(s []byte, _ int) string { return fmt.Sprintf("% x", s) }},
	{"node buffer json", func(s []byte, _ int) string {
		b, _ := json.Marshal(map[string]any{"type": "Buffer", "data": ints(s, false, ",")})
		return string(b)
	}},
	{"json \\u escapes", func(s []byte, _ int) string {
		var b strings.Builder
		for _, c := range s {
			fmt.Fprintf(&b, `\u%04x`, c)
		}
		return `"` + b.String() + `"`
	}},
	{"python repr in a json log line", func(s []byte, _ int) string {
		b, _ := json.Marshal(map[string]string{"msg": "key " + pyRepr(s)})
		return string(b)
	}},
	{"c octal escapes", func(s []byte, _ int) string {
		var b strings.Builder
		for _, c := range s {
			fmt.Fprintf(&b, `\%03o`, c)
		}
		return b.String()
	}},
}

// spaced puts sep after every n characters of s.
func spaced(s string, n int, sep string) string {
	var p []string
	for len(s) > n {
		p, s = append(p, s[:n]), s[n:]
	}
	return strings.Join(append(p, s), sep)
}

// ints renders s as a list of numbers, bytes signed or not.
func ints(s []byte, signed bool, sep string) string {
	var p []string
	for _, b := range s {
		v := int(b)
		if signed {
			v = int(int8(b))
		}
		p = append(p, strconv.Itoa(v))
	}
	return "[" + strings.Join(p, sep) + "]"
}

// pyRepr is Python's repr of a bytes object.
func pyRepr(s []byte) string {
	q := byte('\'')
	if strings.IndexByte(string(s), '\'') >= 0 && strings.IndexByte(string(s), '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteString("b" + string(q))
	for _, c := range s {
		switch {
		case c == '\\' || c == q:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// TestRedactPrintedForms: every printed form of a secret is masked, the
// text around it kept; text with no secret is unchanged.
func TestRedactPrintedForms(t *testing.T) {
	secrets := [][]byte{
		[]byte("12345678901234567890"),
		{0x3d, 0xc6, 0xca, 0xa4, 0x82, 0x4a, 0x6d, 0x28, 0x87, 0x67, 0xb2, 0x33, 0x1e, 0x20, 0xb4, 0x31, 0x66, 0xcb, 0x85, 0xd9},
		[]byte("it's a \"key\" \\ with\nbreaks\x00\xff"),
	}
	r := NewRedactor()
	for _, s := range secrets {
		r.Add(s)
	}
	for i, s := range secrets {
		for _, f := range printedForms {
			t.Run(fmt.Sprintf("%d/%s", i, f.name), func(t *testing.T) {
				form := f.form(s, 7)
				got := r.Redact("ValueError: key=" + form + " done")
				assert.Contains(t, got, Redacted)
				assert.True(t, strings.HasPrefix(got, "ValueError: key="), got)
				assert.True(t, strings.HasSuffix(got, " done"), got)
				assert.NotContains(t, got, form)
				// no four bytes of the secret's hex survive in order
				assert.NotContains(t, strings.ToLower(strings.NewReplacer(" ", "", ":", "", "\n", "").Replace(got)), hex.EncodeToString(s)[:8], got)
			})
		}
	}
	for _, text := range []string{
		"check serial=1000000000001 accepted=false time=1767225600",
		"[49, 50, 51, 52] are four small numbers; 0x31 0x32 0x33",
		"deadbeef cafe 3132 3334 3536",
		`b'\x00\x01' is a short bytes literal`,
		"GEZD GNBV GY3T QOJQ is a grouped base32 of something else",
	} {
		assert.Equal(t, text, r.Redact(text))
	}
}

// TestStderrLogSecretAcrossWrites: a hex dump of a secret written a line
// at a time, as a logger flushes, is masked in the log and in its copy.
func TestStderrLogSecretAcrossWrites(t *testing.T) {
	secret := []byte("12345678901234567890")
	red := NewRedactor()
	red.Add(secret)
	var copied strings.Builder
	l := newStderrLog(4096, 4096, red, &copied)
	fmt.Fprintln(l, "loading the key:")
	h := spaced(hex.EncodeToString(secret), 2, " ")
	fmt.Fprintln(l, "  "+h[:30])
	fmt.Fprintln(l, "  "+h[30:])
	for i := range 40 {
		fmt.Fprintf(l, "frame %d\n", i)
	}
	assert.NotContains(t, copied.String(), h[:12], "a line went out before the rest of the secret came")
	l.flush()
	for _, s := range []string{copied.String(), l.String(), l.note()} {
		assert.NotContains(t, s, h[:12])
		assert.NotContains(t, s, h[len(h)-12:])
		assert.Contains(t, s, "frame 39")
	}
}

// checkFormMasked fails if the form of secret, put between prefix and
// suffix, survives Redact.
func checkFormMasked(t interface{ Fatalf(string, ...any) }, secret []byte, kind, n int, prefix, suffix string) {
	r := NewRedactor()
	r.Add(secret)
	f := printedForms[kind%len(printedForms)]
	form := f.form(secret, n)
	got := r.Redact(prefix + form + suffix)
	if strings.Contains(got, form) || !strings.Contains(got, Redacted) {
		t.Fatalf("%s of %x survives: %q", f.name, secret, got)
	}
}

// TestRedactFormsProperty: any secret of 8 bytes or more, in any printed
// form, between any text, is masked.
func TestRedactFormsProperty(t *testing.T) {
	harness.RapidCheck(t, func(t *rapid.T) {
		secret := rapid.SliceOfN(rapid.Byte(), streamMin, 64).Draw(t, "secret")
		kind := rapid.IntRange(0, len(printedForms)-1).Draw(t, "kind")
		around := rapid.StringMatching(`[ -~\n]{0,20}`)
		checkFormMasked(t, secret, kind, rapid.IntRange(0, 100).Draw(t, "n"), around.Draw(t, "prefix"), around.Draw(t, "suffix"))
	})
}

// FuzzRedactForms feeds random encodings of random secrets, between
// random text, to the redactor.
func FuzzRedactForms(f *testing.F) {
	f.Add([]byte("12345678901234567890"), 0, 3, "key ", " end")
	f.Add([]byte("\x00\xff\\'\"abcdefgh"), 9, 1, "b", "'")
	f.Fuzz(func(t *testing.T, secret []byte, kind, n int, prefix, suffix string) {
		if len(secret) < streamMin || len(secret) > 128 || kind < 0 || n < 0 || len(prefix)+len(suffix) > 4096 {
			return
		}
		checkFormMasked(t, secret, kind, n, prefix, suffix)
	})
}

// TestRedactPrefix: the start of a text is masked as the whole would be,
// a secret across the cut included, and no unmasked part of a secret
// shifts into the start when masks shorten the text before it.
func TestRedactPrefix(t *testing.T) {
	secret := []byte("12345678901234567890")
	h := hex.EncodeToString(secret)
	r := NewRedactor()
	r.Add(secret)
	text := strings.Repeat(h+" ", 30) + "tail " + h + strings.Repeat("z", 1<<20)
	for _, n := range []int{0, 5, 41, 100, 1230, 1240, 1250, 1260, 2000} {
		got := r.RedactPrefix(text, n)
		assert.NotContains(t, got, h[:6], "n=%d", n)
		assert.Equal(t, r.Redact(text[:min(n+r.Longest(), len(text))])[:len(got)], got, "n=%d", n)
	}
	assert.Equal(t, "abc", r.RedactPrefix("abcdef", 3))
	var none *Redactor
	assert.Equal(t, "ab", none.RedactPrefix("abc", 2))
	e := errorText(r, strings.Repeat("x", MaxErrorText-10)+h+strings.Repeat("y", 1<<20))
	assert.NotContains(t, e, h[:6])
	assert.Contains(t, e, "[cut: ")
	assert.LessOrEqual(t, len(e), MaxErrorText+40)
}

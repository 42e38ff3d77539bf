package pskc

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Default limits of a [Decoder].
const (
	// DefaultMaxBytes bounds the whole input: 2 GiB, enough for four
	// million plain key packages.
	DefaultMaxBytes = 2 << 30
	// DefaultMaxElementBytes bounds one key package (or one header
	// element) of the input: real ones take a few hundred bytes.
	DefaultMaxElementBytes = 64 << 10
)

// Options tells a [Decoder] how to decrypt and how much input to accept.
// Password and Key are secrets: they are never part of an error.
type Options struct {
	// Password unlocks a file whose EncryptionKey is a PBKDF2 DerivedKey.
	Password string
	// Key is the pre-shared AES key of a file whose EncryptionKey names a
	// key (ds:KeyName). It may also be given for a password-protected
	// file, in place of the password, as the already derived key.
	Key []byte
	// MaxBytes bounds the input; zero means DefaultMaxBytes.
	MaxBytes int64
	// MaxElementBytes bounds each key package and header element; zero
	// means DefaultMaxElementBytes.
	MaxElementBytes int64
	// MaxIterations bounds the PBKDF2 iteration count a file may ask
	// for; zero means 10,000,000.
	MaxIterations int
}

// Protection says how the values of a file are protected.
type Protection uint8

// The protections of a PSKC file.
const (
	// Plain files carry values as PlainValue.
	Plain Protection = iota
	// PreSharedKey files encrypt values under a key both sides hold.
	PreSharedKey
	// PasswordKey files encrypt values under a key derived from a
	// password with PBKDF2.
	PasswordKey
)

// String returns "plain", "pre-shared key" or "password".
func (p Protection) String() string {
	switch p {
	case PreSharedKey:
		return "pre-shared key"
	case PasswordKey:
		return "password"
	}
	return "plain"
}

// Header describes the key container as a whole: how its values are
// protected and with which parameters.
type Header struct {
	// Version is the KeyContainer Version attribute, "1.0".
	Version string
	// Protection is how the values are protected, from EncryptionKey.
	Protection Protection
	// KeyName is ds:KeyName for a pre-shared key or MasterKeyName for a
	// password, if the file names one.
	KeyName string
	// Salt, Iterations, KeyLength and PRF are the PBKDF2 parameters of a
	// password-protected file; PRF is a MAC URI (HMAC-SHA1 by default).
	Salt       []byte
	Iterations int
	KeyLength  int
	PRF        string
	// MACAlgorithm is the MACMethod Algorithm URI, empty without one.
	MACAlgorithm string
}

// Decoder reads the key packages of a PSKC file one at a time.
type Decoder struct {
	opts Options
	lim  *limitReader
	br   *bufio.Reader
	raw  *xml.Decoder // positions and raw tokens
	x    *xml.Decoder // namespaces and nesting, over raw without directives

	hdr       Header
	started   bool
	done      bool
	err       error
	pending   xml.Token // a token read ahead by the header
	n         int       // key packages seen
	inPackage bool      // decoding the values of a key package
	prf       func() hash.Hash
	encKey    []byte
	macHash   func() hash.Hash
	macCipher []byte // MACMethod/MACKey IV || ciphertext
	macMethod string
	macKey    []byte
}

// NewDecoder returns a decoder reading a PSKC file from r.
func NewDecoder(r io.Reader, opts Options) *Decoder {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxElementBytes <= 0 {
		opts.MaxElementBytes = DefaultMaxElementBytes
	}
	if opts.MaxIterations <= 0 {
		opts.MaxIterations = maxIterations
	}
	lim := &limitReader{r: r, max: opts.MaxBytes, maxWindow: opts.MaxElementBytes}
	br := bufio.NewReaderSize(lim, 4096) // the size is the slack of the window limit
	raw := xml.NewDecoder(br)
	raw.Strict = true
	d := &Decoder{opts: opts, lim: lim, br: br, raw: raw}
	d.x = xml.NewTokenDecoder(noDirectives{d})
	return d
}

// ReadAll reads a whole PSKC file from r.
func ReadAll(r io.Reader, opts Options) (Header, []KeyPackage, error) {
	d := NewDecoder(r, opts)
	var out []KeyPackage
	for {
		p, err := d.Next()
		if errors.Is(err, io.EOF) {
			return d.hdr, out, nil
		}
		if err != nil {
			return Header{}, nil, err
		}
		out = append(out, p)
	}
}

// Header reads the file up to its first key package, if that has not
// happened yet, and returns what it says about the container.
func (d *Decoder) Header() (Header, error) {
	if d.err != nil {
		return Header{}, d.err
	}
	if err := d.start(); err != nil {
		d.err = err
		return Header{}, err
	}
	return d.hdr, nil
}

// Next returns the next key package, decrypted, with its ValueMACs
// verified and checked with [KeyPackage.Check]. After the last one it
// checks that the container is complete and returns [io.EOF]. After an
// error it keeps returning that error.
func (d *Decoder) Next() (KeyPackage, error) {
	if d.err != nil {
		return KeyPackage{}, d.err
	}
	p, err := d.next()
	if err != nil && !errors.Is(err, io.EOF) {
		d.err = err
	}
	return p, err
}

func (d *Decoder) next() (KeyPackage, error) {
	if err := d.start(); err != nil {
		return KeyPackage{}, err
	}
	if d.done {
		return KeyPackage{}, io.EOF
	}
	for {
		d.lim.resetWindow()
		tok, err := d.token()
		if err != nil {
			return KeyPackage{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "KeyPackage":
				return d.keyPackage(&t)
			case "EncryptionKey", "MACMethod":
				return KeyPackage{}, d.errorf(ErrFormat, "%s after the first KeyPackage", t.Name.Local)
			}
			if err := d.x.Skip(); err != nil {
				return KeyPackage{}, d.wrap(err)
			}
		case xml.EndElement: // of the root: the decoder pairs elements
			if err := d.trailer(); err != nil {
				return KeyPackage{}, err
			}
			d.done = true
			return KeyPackage{}, io.EOF
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return KeyPackage{}, d.errorf(ErrFormat, "text inside KeyContainer")
			}
		}
	}
}

// start reads the prolog, the root element and the header elements, and
// stops before the first key package.
func (d *Decoder) start() error {
	if d.started {
		return nil
	}
	d.started = true
	if b, _ := d.br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		d.br.Discard(3) // a UTF-8 byte order mark, as Windows tools write
	}
	for {
		tok, err := d.token()
		if err != nil {
			if errors.Is(err, ErrTruncated) && d.lim.total == 0 {
				return fmt.Errorf("%w: empty input", ErrFormat)
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "KeyContainer" || t.Name.Space != NamespacePSKC {
				return d.errorf(ErrFormat, "root element is %s, want KeyContainer in namespace %s", t.Name.Local, NamespacePSKC)
			}
			for _, a := range t.Attr {
				if a.Name.Local == "Version" && a.Name.Space == "" {
					d.hdr.Version = a.Value
				}
			}
			if d.hdr.Version != "1.0" {
				return d.errorf(ErrFormat, "KeyContainer Version %q, want \"1.0\"", d.hdr.Version)
			}
			return d.header()
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return d.errorf(ErrFormat, "text before the root element")
			}
		}
	}
}

// header reads EncryptionKey and MACMethod, and stops at the first
// KeyPackage or at the end of the root, keeping that token for next.
func (d *Decoder) header() error {
	for {
		d.lim.resetWindow()
		tok, err := d.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "EncryptionKey":
				var ek xEncryptionKey
				if err := d.decode(&ek, &t); err != nil {
					return err
				}
				if err := d.encryptionKey(&ek); err != nil {
					return err
				}
			case "MACMethod":
				var mm xMACMethod
				if err := d.decode(&mm, &t); err != nil {
					return err
				}
				if err := d.readMACMethod(&mm); err != nil {
					return err
				}
			case "KeyPackage":
				d.pending = t
				return nil
			default:
				if err := d.x.Skip(); err != nil {
					return d.wrap(err)
				}
			}
		case xml.EndElement:
			d.pending = t
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return d.errorf(ErrFormat, "text inside KeyContainer")
			}
		}
	}
}

// trailer checks that nothing but comments, processing instructions and
// white space follow the root element.
func (d *Decoder) trailer() error {
	for {
		tok, err := d.x.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return d.wrap(err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return d.errorf(ErrFormat, "text after the root element")
			}
		default:
			return d.errorf(ErrFormat, "content after the root element")
		}
	}
}

// token returns the pending token or the next one.
func (d *Decoder) token() (xml.Token, error) {
	if d.pending != nil {
		t := d.pending
		d.pending = nil
		return t, nil
	}
	t, err := d.x.Token()
	if err != nil {
		return nil, d.wrap(err)
	}
	return t, nil
}

// decode unmarshals the element that start opens.
func (d *Decoder) decode(v any, start *xml.StartElement) error {
	if err := d.x.DecodeElement(v, start); err != nil {
		return d.wrap(err)
	}
	return nil
}

// wrap turns an error of the XML layer into one of this package.
func (d *Decoder) wrap(err error) error {
	line, _ := d.raw.InputPos()
	var syn *xml.SyntaxError
	switch {
	case d.lim.err != nil:
		return fmt.Errorf("line %d: %w", line, d.lim.err)
	case errors.Is(err, ErrDoctype):
		return fmt.Errorf("line %d: %w", line, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("line %d: %w: the file ends inside the key container", line, ErrTruncated)
	case errors.As(err, &syn):
		if strings.Contains(syn.Msg, "unexpected EOF") {
			return fmt.Errorf("line %d: %w: the file ends inside the key container", syn.Line, ErrTruncated)
		}
		return fmt.Errorf("line %d: %w: %s", syn.Line, ErrFormat, oneLine(syn.Msg))
	}
	if d.lim.ioErr != nil { // the underlying reader failed
		return fmt.Errorf("read: %w", d.lim.ioErr)
	}
	// An xml error without a position, such as a bad encoding declaration.
	return fmt.Errorf("line %d: %w: %s", line, ErrFormat, oneLine(err.Error()))
}

// errorf formats an error at the current line; inside a key package the
// package's own error prefix gives the line instead.
func (d *Decoder) errorf(sentinel error, format string, args ...any) error {
	if d.inPackage {
		return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
	}
	line, _ := d.raw.InputPos()
	return fmt.Errorf("line %d: %w: %s", line, sentinel, fmt.Sprintf(format, args...))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// noDirectives feeds the raw tokens of the file to the namespace-aware
// decoder, refusing any directive (<!DOCTYPE ...>, <!ENTITY ...>).
type noDirectives struct{ d *Decoder }

func (n noDirectives) Token() (xml.Token, error) {
	t, err := n.d.raw.RawToken()
	if _, ok := t.(xml.Directive); ok {
		line, _ := n.d.raw.InputPos()
		return nil, fmt.Errorf("%w: directive at line %d", ErrDoctype, line)
	}
	if err != nil && n.d.lim.err != nil {
		return nil, n.d.lim.err
	}
	return t, err
}

// limitReader bounds the whole input and the input read since the last
// resetWindow, so one huge element cannot exhaust memory.
type limitReader struct {
	r                 io.Reader
	total, max        int64
	window, maxWindow int64
	err               error // a limit was passed
	ioErr             error // the underlying reader failed
}

func (l *limitReader) resetWindow() { l.window = 0 }

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	// Allow one byte past each limit, so that reaching a limit exactly
	// is not an error but passing it is.
	room := min(l.max+1-l.total, l.maxWindow+1-l.window+4096)
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		l.ioErr = err
	}
	l.total += int64(n)
	l.window += int64(n)
	switch {
	case l.total > l.max:
		l.err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.max)
		return n, l.err
	case l.window > l.maxWindow+4096:
		l.err = fmt.Errorf("%w: an element of more than %d bytes", ErrTooLarge, l.maxWindow)
		return n, l.err
	}
	return n, err
}

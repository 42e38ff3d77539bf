package pskc

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"unicode/utf8"
)

// DefaultIterations is the PBKDF2 iteration count of files an [Encoder]
// protects with a password, unless told otherwise.
const DefaultIterations = 100_000

// DefaultKeyName is the ds:KeyName written for a pre-shared key, as in
// RFC 6030 Figure 6.
const DefaultKeyName = "Pre-shared-key"

// EncodeOptions tells an [Encoder] how to protect the values it writes.
// With neither Key nor Password the file is plain. Key, Password and
// MACKey are secrets and never appear in errors.
type EncodeOptions struct {
	// Key is a pre-shared AES key of 16, 24 or 32 bytes.
	Key []byte
	// KeyName is the ds:KeyName that tells the reader which pre-shared
	// key to use; empty means DefaultKeyName.
	KeyName string
	// Password protects the file with a PBKDF2-derived key (HMAC-SHA1),
	// derived once for the whole file.
	Password string
	// Salt is the PBKDF2 salt; nil means 16 random bytes.
	Salt []byte
	// Iterations is the PBKDF2 iteration count; zero means
	// DefaultIterations.
	Iterations int
	// KeyLength is the derived key length, 16 (the default, AES-128), 24
	// or 32.
	KeyLength int
	// MasterKeyName is written as xenc11:MasterKeyName if not empty.
	MasterKeyName string
	// MACKey is the ValueMAC key (HMAC-SHA1), written encrypted in
	// MACMethod; nil means 20 random bytes.
	MACKey []byte
	// Rand supplies salts, MAC keys and IVs; nil means crypto/rand.
	Rand io.Reader
}

// Encoder writes a PSKC file one key package at a time. Call
// [Encoder.Close] to finish the file; an Encoder that saw an error keeps
// returning it.
type Encoder struct {
	w     *bufio.Writer
	rnd   io.Reader
	block cipher.Block // nil for a plain file
	uri   string       // the AES-CBC URI of block
	mac   hash.Hash
	buf   []byte
	n     int
	err   error
}

// NewEncoder returns an encoder writing to w. For a password-protected
// file it derives the key here, once. Nothing reaches w before the first
// [Encoder.Encode] or [Encoder.Close] flushes its buffer.
func NewEncoder(w io.Writer, opts EncodeOptions) (*Encoder, error) {
	e := &Encoder{w: bufio.NewWriterSize(w, 256<<10), rnd: opts.Rand}
	if e.rnd == nil {
		e.rnd = bufio.NewReaderSize(rand.Reader, 4096)
	}
	if len(opts.Key) > 0 && opts.Password != "" {
		return nil, fmt.Errorf("pskc: %w: give a pre-shared key or a password, not both", ErrNeedKey)
	}
	var key []byte
	hdr := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<KeyContainer Version="1.0" xmlns="` + NamespacePSKC + `"`)
	switch {
	case len(opts.Key) > 0:
		if n := len(opts.Key); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("pskc: %w: the key has %d bytes, want 16, 24 or 32", ErrNeedKey, n)
		}
		key = opts.Key
		name := opts.KeyName
		if name == "" {
			name = DefaultKeyName
		}
		if err := checkText("key name", name); err != nil {
			return nil, err
		}
		hdr = append(hdr, ` xmlns:ds="`+NamespaceDS+`" xmlns:xenc="`+NamespaceXEnc+`">`+"\n"...)
		hdr = append(hdr, "  <EncryptionKey>\n    <ds:KeyName>"...)
		hdr = appendEscaped(hdr, name)
		hdr = append(hdr, "</ds:KeyName>\n  </EncryptionKey>\n"...)
	case opts.Password != "":
		iter, keyLen, salt := opts.Iterations, opts.KeyLength, opts.Salt
		if iter == 0 {
			iter = DefaultIterations
		}
		if keyLen == 0 {
			keyLen = 16
		}
		if iter < 1 || iter > maxIterations {
			return nil, fmt.Errorf("pskc: %w: iteration count %d (want 1 to %d)", ErrValue, iter, maxIterations)
		}
		if keyLen != 16 && keyLen != 24 && keyLen != 32 {
			return nil, fmt.Errorf("pskc: %w: key length %d (want 16, 24 or 32)", ErrValue, keyLen)
		}
		if salt == nil {
			salt = make([]byte, 16)
			if _, err := io.ReadFull(e.rnd, salt); err != nil {
				return nil, fmt.Errorf("pskc: random salt: %w", err)
			}
		}
		if len(salt) == 0 {
			return nil, fmt.Errorf("pskc: %w: empty salt", ErrValue)
		}
		if err := checkText("master key name", opts.MasterKeyName); err != nil {
			return nil, err
		}
		k, err := deriveKey(sha1.New, opts.Password, salt, iter, keyLen)
		if err != nil {
			return nil, err
		}
		key = k
		hdr = append(hdr, ` xmlns:xenc="`+NamespaceXEnc+`" xmlns:xenc11="`+NamespaceXEnc11+`" xmlns:pkcs5="`+NamespacePKCS5+`">`+"\n"...)
		hdr = append(hdr, "  <EncryptionKey>\n    <xenc11:DerivedKey>\n      <xenc11:KeyDerivationMethod Algorithm=\""+URIPBKDF2+"\">\n"...)
		hdr = append(hdr, "        <pkcs5:PBKDF2-params xmlns=\"\">\n          <Salt><Specified>"...)
		hdr = base64.StdEncoding.AppendEncode(hdr, salt)
		hdr = append(hdr, "</Specified></Salt>\n          <IterationCount>"...)
		hdr = strconv.AppendInt(hdr, int64(iter), 10)
		hdr = append(hdr, "</IterationCount>\n          <KeyLength>"...)
		hdr = strconv.AppendInt(hdr, int64(keyLen), 10)
		hdr = append(hdr, "</KeyLength>\n        </pkcs5:PBKDF2-params>\n      </xenc11:KeyDerivationMethod>\n"...)
		if opts.MasterKeyName != "" {
			hdr = append(hdr, "      <xenc11:MasterKeyName>"...)
			hdr = appendEscaped(hdr, opts.MasterKeyName)
			hdr = append(hdr, "</xenc11:MasterKeyName>\n"...)
		}
		hdr = append(hdr, "    </xenc11:DerivedKey>\n  </EncryptionKey>\n"...)
	default:
		hdr = append(hdr, ">\n"...)
	}
	if key != nil {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("pskc: %w: %w", ErrNeedKey, err)
		}
		macKey := opts.MACKey
		if macKey == nil {
			macKey = make([]byte, sha1.Size)
			if _, err := io.ReadFull(e.rnd, macKey); err != nil {
				return nil, fmt.Errorf("pskc: random mac key: %w", err)
			}
		}
		if len(macKey) == 0 {
			return nil, fmt.Errorf("pskc: %w: empty mac key", ErrValue)
		}
		e.block, e.uri = block, cipherURI(len(key))
		hdr = append(hdr, "  <MACMethod Algorithm=\""+URIHMACSHA1+"\">\n    <MACKey>\n"...)
		if hdr, _, err = e.appendCipher(hdr, macKey, "      "); err != nil {
			return nil, err
		}
		hdr = append(hdr, "    </MACKey>\n  </MACMethod>\n"...)
		e.mac = hmac.New(sha1.New, macKey)
	}
	e.w.Write(hdr) // a bufio.Writer error is sticky and reported by Flush
	return e, nil
}

// appendCipher encrypts plain and appends its EncryptionMethod and
// CipherData elements; it also returns IV || ciphertext for the ValueMAC.
func (e *Encoder) appendCipher(dst, plain []byte, indent string) ([]byte, []byte, error) {
	ct, err := encryptCBC(nil, e.block, e.rnd, plain)
	if err != nil {
		return nil, nil, err
	}
	dst = append(dst, indent...)
	dst = append(dst, `<xenc:EncryptionMethod Algorithm="`...)
	dst = append(dst, e.uri...)
	dst = append(dst, "\"/>\n"...)
	dst = append(dst, indent...)
	dst = append(dst, "<xenc:CipherData>\n"...)
	dst = append(dst, indent...)
	dst = append(dst, "  <xenc:CipherValue>"...)
	dst = base64.StdEncoding.AppendEncode(dst, ct)
	dst = append(dst, "</xenc:CipherValue>\n"...)
	dst = append(dst, indent...)
	dst = append(dst, "</xenc:CipherData>\n"...)
	return dst, ct, nil
}

// Encode writes one key package. It checks the package first (see
// [KeyPackage.Check]) and refuses text that XML cannot carry.
func (e *Encoder) Encode(p *KeyPackage) error {
	if e.err != nil {
		return e.err
	}
	if err := e.encode(p); err != nil {
		e.err = err
		return err
	}
	return nil
}

func (e *Encoder) encode(p *KeyPackage) error {
	e.n++
	if err := p.Check(); err != nil {
		return fmt.Errorf("pskc: key package %d: %w", e.n, err)
	}
	for _, f := range [...]struct{ name, v string }{
		{"manufacturer", p.Manufacturer}, {"serial", p.SerialNo}, {"model", p.Model},
		{"crypto module id", p.CryptoModuleID}, {"key id", p.KeyID}, {"issuer", p.Issuer},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return fmt.Errorf("pskc: key package %d: %w", e.n, err)
		}
	}
	b := e.buf[:0]
	b = append(b, "  <KeyPackage>\n"...)
	if p.Manufacturer != "" || p.SerialNo != "" || p.Model != "" {
		b = append(b, "    <DeviceInfo>\n"...)
		b = appendElem(b, "      ", "Manufacturer", p.Manufacturer)
		b = appendElem(b, "      ", "SerialNo", p.SerialNo)
		b = appendElem(b, "      ", "Model", p.Model)
		b = append(b, "    </DeviceInfo>\n"...)
	}
	if p.CryptoModuleID != "" {
		b = append(b, "    <CryptoModuleInfo>\n"...)
		b = appendElem(b, "      ", "Id", p.CryptoModuleID)
		b = append(b, "    </CryptoModuleInfo>\n"...)
	}
	b = append(b, "    <Key"...)
	if p.KeyID != "" {
		b = append(b, ` Id="`...)
		b = appendEscaped(b, p.KeyID)
		b = append(b, '"')
	}
	b = append(b, ` Algorithm="`...)
	b = append(b, p.Kind.URI()...)
	b = append(b, "\">\n"...)
	b = appendElem(b, "      ", "Issuer", p.Issuer)
	b = append(b, "      <AlgorithmParameters>\n"...)
	if p.Algorithm != 0 && p.Algorithm.String() != "SHA1" {
		b = appendElem(b, "        ", "Suite", "HMAC-"+p.Algorithm.String())
	}
	b = append(b, `        <ResponseFormat Length="`...)
	b = strconv.AppendInt(b, int64(p.Digits), 10)
	b = append(b, "\" Encoding=\"DECIMAL\"/>\n      </AlgorithmParameters>\n      <Data>\n        <Secret>\n"...)
	if e.block == nil {
		b = append(b, "          <PlainValue>"...)
		b = base64.StdEncoding.AppendEncode(b, p.Secret)
		b = append(b, "</PlainValue>\n"...)
	} else {
		b = append(b, "          <EncryptedValue>\n"...)
		var ct []byte
		var err error
		if b, ct, err = e.appendCipher(b, p.Secret, "            "); err != nil {
			return err
		}
		b = append(b, "          </EncryptedValue>\n          <ValueMAC>"...)
		e.mac.Reset()
		e.mac.Write(ct)
		var sum [sha1.Size]byte
		b = base64.StdEncoding.AppendEncode(b, e.mac.Sum(sum[:0]))
		b = append(b, "</ValueMAC>\n"...)
	}
	b = append(b, "        </Secret>\n"...)
	if p.Kind == HOTP {
		b = append(b, "        <Counter>\n          <PlainValue>"...)
		b = strconv.AppendUint(b, p.Counter, 10)
		b = append(b, "</PlainValue>\n        </Counter>\n"...)
	} else {
		b = append(b, "        <Time>\n          <PlainValue>"...)
		b = strconv.AppendInt(b, p.Time, 10)
		b = append(b, "</PlainValue>\n        </Time>\n        <TimeInterval>\n          <PlainValue>"...)
		b = strconv.AppendInt(b, p.TimeInterval, 10)
		b = append(b, "</PlainValue>\n        </TimeInterval>\n"...)
	}
	b = append(b, "      </Data>\n    </Key>\n  </KeyPackage>\n"...)
	e.buf = b
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("pskc: write: %w", err)
	}
	return nil
}

// Close writes the end of the key container and flushes the output. It
// does not close the underlying writer.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	e.w.WriteString("</KeyContainer>\n")
	if err := e.w.Flush(); err != nil {
		e.err = fmt.Errorf("pskc: write: %w", err)
		return e.err
	}
	e.err = errors.New("pskc: encoder closed")
	return nil
}

// Write writes all packages to w as one file with the given options.
func Write(w io.Writer, opts EncodeOptions, packages []KeyPackage) error {
	e, err := NewEncoder(w, opts)
	if err != nil {
		return err
	}
	for i := range packages {
		if err := e.Encode(&packages[i]); err != nil {
			return err
		}
	}
	return e.Close()
}

// appendElem appends <name>text</name> on its own line, or nothing for
// empty text.
func appendElem(b []byte, indent, name, text string) []byte {
	if text == "" {
		return b
	}
	b = append(b, indent...)
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// appendEscaped appends s with the XML special characters escaped; it is
// safe in text and in double-quoted attributes.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\'':
			b = append(b, "&apos;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// checkText refuses text XML cannot carry faithfully: invalid UTF-8 and
// control characters (white space other than a plain space would not read
// back the same either).
func checkText(name, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid utf-8", ErrValue, name)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffe || r == 0xffff {
			return fmt.Errorf("%w: %s contains control character %U", ErrValue, name, r)
		}
	}
	return nil
}

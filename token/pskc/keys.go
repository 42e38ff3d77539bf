package pskc

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/otplab/otplab/token"
)

// encryptionKey reads the EncryptionKey element.
func (d *Decoder) encryptionKey(ek *xEncryptionKey) error {
	if d.hdr.Protection != Plain {
		return d.errorf(ErrFormat, "more than one EncryptionKey")
	}
	switch {
	case ek.X509 != nil:
		return d.errorf(ErrAlgorithm, "EncryptionKey with X509Data: asymmetric key transport is not supported")
	case ek.Derived == nil:
		d.hdr.Protection = PreSharedKey
		d.hdr.KeyName = strings.TrimSpace(ek.KeyName)
		return nil
	}
	m := &ek.Derived.Method
	if strings.TrimSpace(m.Algorithm) != URIPBKDF2 {
		return d.errorf(ErrAlgorithm, "key derivation method %q (want %s)", m.Algorithm, URIPBKDF2)
	}
	if m.Params == nil {
		return d.errorf(ErrFormat, "DerivedKey without PBKDF2-params")
	}
	if m.Params.Salt.Specified == nil {
		return d.errorf(ErrFormat, "PBKDF2-params without Salt/Specified")
	}
	salt, err := decodeBase64(*m.Params.Salt.Specified)
	if err != nil || len(salt) == 0 {
		return d.errorf(ErrValue, "PBKDF2 salt is not base64")
	}
	iter, err := strconv.Atoi(strings.TrimSpace(m.Params.IterationCount))
	if err != nil || iter < 1 || iter > d.opts.MaxIterations {
		return d.errorf(ErrValue, "PBKDF2 IterationCount %q (want 1 to %d)", clip(m.Params.IterationCount), d.opts.MaxIterations)
	}
	keyLen := 16
	if s := strings.TrimSpace(m.Params.KeyLength); s != "" {
		keyLen, err = strconv.Atoi(s)
		if err != nil || (keyLen != 16 && keyLen != 24 && keyLen != 32) {
			return d.errorf(ErrValue, "PBKDF2 KeyLength %q (want 16, 24 or 32)", clip(s))
		}
	}
	prf := URIHMACSHA1
	if m.Params.PRF != nil && strings.TrimSpace(m.Params.PRF.Algorithm) != "" {
		prf = strings.TrimSpace(m.Params.PRF.Algorithm)
	}
	h, ok := macHash(prf)
	if !ok {
		return d.errorf(ErrAlgorithm, "PBKDF2 PRF %q", clip(prf))
	}
	d.prf = h
	d.hdr.Protection = PasswordKey
	d.hdr.KeyName = strings.TrimSpace(ek.Derived.MasterKeyName)
	d.hdr.Salt, d.hdr.Iterations, d.hdr.KeyLength, d.hdr.PRF = salt, iter, keyLen, prf
	return nil
}

// readMACMethod reads the MACMethod element; the MAC key is decrypted when
// the first ValueMAC needs it.
func (d *Decoder) readMACMethod(mm *xMACMethod) error {
	if d.macHash != nil {
		return d.errorf(ErrFormat, "more than one MACMethod")
	}
	h, ok := macHash(mm.Algorithm)
	if !ok {
		return d.errorf(ErrAlgorithm, "MACMethod algorithm %q", clip(mm.Algorithm))
	}
	if mm.MACKey == nil {
		return d.errorf(ErrFormat, "MACMethod without MACKey")
	}
	ct, method, err := d.cipherValue(mm.MACKey)
	if err != nil {
		return fmt.Errorf("MACKey: %w", err)
	}
	d.macHash, d.macCipher, d.macMethod = h, ct, method
	d.hdr.MACAlgorithm = strings.TrimSpace(mm.Algorithm)
	return nil
}

// cipherValue checks an EncryptedValue's method and decodes its
// CipherValue.
func (d *Decoder) cipherValue(e *xEncrypted) ([]byte, string, error) {
	if e.Method == nil {
		return nil, "", d.errorf(ErrFormat, "EncryptedValue without EncryptionMethod")
	}
	if _, ok := cipherKeyLen(e.Method.Algorithm); !ok {
		return nil, "", d.errorf(ErrAlgorithm, "encryption method %q", clip(e.Method.Algorithm))
	}
	if e.CipherValue == nil {
		return nil, "", d.errorf(ErrFormat, "EncryptedValue without CipherData/CipherValue")
	}
	b, err := decodeBase64(*e.CipherValue)
	if err != nil {
		return nil, "", d.errorf(ErrValue, "CipherValue is not base64")
	}
	return b, strings.TrimSpace(e.Method.Algorithm), nil
}

// key returns the decryption key, deriving it from the password the first
// time it is needed.
func (d *Decoder) key() ([]byte, error) {
	if d.encKey != nil {
		return d.encKey, nil
	}
	switch {
	case len(d.opts.Key) > 0:
		if n := len(d.opts.Key); n != 16 && n != 24 && n != 32 {
			return nil, d.errorf(ErrNeedKey, "the key has %d bytes, want 16, 24 or 32", n)
		}
		d.encKey = d.opts.Key
	case d.hdr.Protection == PasswordKey && d.opts.Password != "":
		k, err := deriveKey(d.prf, d.opts.Password, d.hdr.Salt, d.hdr.Iterations, d.hdr.KeyLength)
		if err != nil {
			return nil, err
		}
		d.encKey = k
	case d.hdr.Protection == PasswordKey:
		return nil, d.errorf(ErrNeedKey, "the values are encrypted under a password: give the password")
	case d.opts.Password != "":
		return nil, d.errorf(ErrNeedKey, "the values are encrypted under a pre-shared key, not a password: give the key")
	default:
		return nil, d.errorf(ErrNeedKey, "the values are encrypted: give the pre-shared key")
	}
	return d.encKey, nil
}

// decrypt decrypts IV || ciphertext encrypted with method.
func (d *Decoder) decrypt(method string, data []byte) ([]byte, error) {
	k, err := d.key()
	if err != nil {
		return nil, err
	}
	if n, _ := cipherKeyLen(method); n != len(k) {
		return nil, d.errorf(ErrNeedKey, "a key of %d bytes does not fit %s", len(k), method)
	}
	return decryptCBC(k, data)
}

// macKeyBytes returns the decrypted MAC key.
func (d *Decoder) macKeyBytes() ([]byte, error) {
	if d.macKey == nil {
		k, err := d.decrypt(d.macMethod, d.macCipher)
		if err != nil {
			return nil, fmt.Errorf("MACKey: %w", err)
		}
		if len(k) == 0 {
			return nil, d.errorf(ErrValue, "empty MAC key")
		}
		d.macKey = k
	}
	return d.macKey, nil
}

// rawValue returns the plain text of a value, or its decrypted bytes.
// Exactly one of plain and enc is set when ok.
func (d *Decoder) rawValue(name string, vs []xValue) (plain *string, enc []byte, err error) {
	switch len(vs) {
	case 0:
		return nil, nil, nil
	case 1:
	default:
		return nil, nil, d.errorf(ErrFormat, "%d %s elements", len(vs), name)
	}
	v := &vs[0]
	if len(v.Plain)+len(v.Encrypted) != 1 {
		return nil, nil, d.errorf(ErrFormat, "%s needs exactly one PlainValue or EncryptedValue", name)
	}
	if len(v.Plain) == 1 {
		return &v.Plain[0], nil, nil
	}
	ct, method, err := d.cipherValue(&v.Encrypted[0])
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case d.macHash != nil && v.MAC == nil:
		return nil, nil, d.errorf(ErrMAC, "%s has no ValueMAC although the file has a MACMethod", name)
	case d.macHash == nil && v.MAC != nil:
		return nil, nil, d.errorf(ErrFormat, "%s has a ValueMAC but the file has no MACMethod", name)
	case v.MAC != nil:
		mac, err := decodeBase64(*v.MAC)
		if err != nil {
			return nil, nil, d.errorf(ErrValue, "%s ValueMAC is not base64", name)
		}
		mk, err := d.macKeyBytes()
		if err != nil {
			return nil, nil, err
		}
		if !checkMAC(d.macHash, mk, ct, mac) {
			return nil, nil, d.errorf(ErrMAC, "%s: the file was altered or the password or key is wrong", name)
		}
	}
	b, err := d.decrypt(method, ct)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return nil, b, nil
}

// intValue reads an integer value: decimal text in a PlainValue, or
// big-endian bytes in an EncryptedValue.
func (d *Decoder) intValue(name string, vs []xValue, signed bool) (uint64, bool, error) {
	plain, enc, err := d.rawValue(name, vs)
	switch {
	case err != nil:
		return 0, false, err
	case plain != nil:
		s := strings.TrimSpace(*plain)
		if signed {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, false, d.errorf(ErrValue, "%s %q is not an integer", name, clip(s))
			}
			return uint64(v), true, nil
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, false, d.errorf(ErrValue, "%s %q is not a non-negative integer", name, clip(s))
		}
		return v, true, nil
	case enc != nil:
		if len(enc) == 0 || len(enc) > 8 {
			return 0, false, d.errorf(ErrValue, "encrypted %s of %d bytes (want 1 to 8)", name, len(enc))
		}
		var b [8]byte
		copy(b[8-len(enc):], enc)
		v := binary.BigEndian.Uint64(b[:])
		if signed && v > math.MaxInt64 {
			return 0, false, d.errorf(ErrValue, "encrypted %s out of range", name)
		}
		return v, true, nil
	}
	return 0, false, nil
}

// keyPackage decodes the KeyPackage element that start opens.
func (d *Decoder) keyPackage(start *xml.StartElement) (KeyPackage, error) {
	d.n++
	line, _ := d.raw.InputPos()
	var xp xKeyPackage
	if err := d.decode(&xp, start); err != nil {
		return KeyPackage{}, fmt.Errorf("key package %d: %w", d.n, err)
	}
	d.inPackage = true
	defer func() { d.inPackage = false }()
	var p KeyPackage
	if xp.DeviceInfo != nil {
		p.Manufacturer = strings.TrimSpace(xp.DeviceInfo.Manufacturer)
		p.SerialNo = strings.TrimSpace(xp.DeviceInfo.SerialNo)
		p.Model = strings.TrimSpace(xp.DeviceInfo.Model)
	}
	if xp.CryptoModuleInfo != nil {
		p.CryptoModuleID = strings.TrimSpace(xp.CryptoModuleInfo.ID)
	}
	what := fmt.Sprintf("line %d: key package %d", line, d.n)
	if len(xp.Key) == 1 {
		p.KeyID = strings.TrimSpace(xp.Key[0].ID)
	}
	if p.SerialNo != "" {
		what += fmt.Sprintf(" (serial %q)", clip(p.SerialNo))
	} else if p.KeyID != "" {
		what += fmt.Sprintf(" (key %q)", clip(p.KeyID))
	}
	if err := d.fillKey(&p, &xp); err != nil {
		return KeyPackage{}, fmt.Errorf("%s: %w", what, err)
	}
	return p, nil
}

func (d *Decoder) fillKey(p *KeyPackage, xp *xKeyPackage) error {
	if len(xp.Key) != 1 {
		return d.errorf(ErrFormat, "%d Key elements, want 1", len(xp.Key))
	}
	k := &xp.Key[0]
	kind, ok := kindFromURI(k.Algorithm)
	if !ok {
		return d.errorf(ErrAlgorithm, "key algorithm %q (want %s or %s)", clip(k.Algorithm), URIHOTP, URITOTP)
	}
	p.Kind, p.Issuer, p.Algorithm, p.Digits = kind, strings.TrimSpace(k.Issuer), token.SHA1, 6
	if k.Params != nil {
		if s := strings.TrimSpace(k.Params.Suite); s != "" {
			a, err := parseSuite(s)
			if err != nil {
				return d.errorf(ErrAlgorithm, "suite %q", clip(s))
			}
			p.Algorithm = a
		}
		if rf := k.Params.ResponseFormat; rf != nil {
			if !strings.EqualFold(strings.TrimSpace(rf.Encoding), "DECIMAL") {
				return d.errorf(ErrAlgorithm, "response encoding %q (only DECIMAL codes are supported)", clip(rf.Encoding))
			}
			n, err := strconv.Atoi(strings.TrimSpace(rf.Length))
			if err != nil || token.CheckDigits(n) != nil {
				return d.errorf(ErrValue, "response length %q (want %d to %d)", clip(rf.Length), token.MinDigits, token.MaxDigits)
			}
			p.Digits = n
		}
	}
	if k.Data == nil {
		return d.errorf(ErrFormat, "Key without Data")
	}
	plain, enc, err := d.rawValue("Secret", k.Data.Secret)
	switch {
	case err != nil:
		return err
	case plain != nil:
		s, err := decodeBase64(*plain)
		if err != nil {
			return d.errorf(ErrValue, "Secret PlainValue is not base64")
		}
		p.Secret = s
	case enc != nil:
		p.Secret = enc
	default:
		return d.errorf(ErrFormat, "Key without Data/Secret")
	}
	if kind == HOTP {
		c, _, err := d.intValue("Counter", k.Data.Counter, false)
		if err != nil {
			return err
		}
		p.Counter = c
	} else {
		t, _, err := d.intValue("Time", k.Data.Time, true)
		if err != nil {
			return err
		}
		p.Time = int64(t)
		iv, ok, err := d.intValue("TimeInterval", k.Data.TimeInterval, false)
		if err != nil {
			return err
		}
		p.TimeInterval = token.DefaultPeriod
		if ok {
			if iv > math.MaxInt64 {
				return d.errorf(ErrValue, "TimeInterval out of range")
			}
			p.TimeInterval = int64(iv)
		}
	}
	return p.Check()
}

// parseSuite reads AlgorithmParameters/Suite: "HMAC-SHA1", "SHA256",
// "hmac-sha512" and so on.
func parseSuite(s string) (token.Algorithm, error) {
	u := strings.ToUpper(s)
	u = strings.TrimPrefix(u, "HMAC-")
	u = strings.TrimPrefix(u, "HMAC")
	return token.ParseAlgorithm(u)
}

// decodeBase64 decodes standard base64, ignoring white space inside.
func decodeBase64(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r':
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, errors.New("not base64")
	}
	return b, nil
}

// clip shortens text from the file for an error message.
func clip(s string) string {
	s = oneLine(s)
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

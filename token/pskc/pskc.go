package pskc

import (
	"fmt"
	"strings"

	"github.com/otplab/otplab/token"
)

// XML namespaces used in PSKC files.
const (
	// NamespacePSKC is the namespace of the KeyContainer and its elements.
	NamespacePSKC = "urn:ietf:params:xml:ns:keyprov:pskc"
	// NamespaceDS is XML Signature's, for ds:KeyName.
	NamespaceDS = "http://www.w3.org/2000/09/xmldsig#"
	// NamespaceXEnc is XML Encryption's, for EncryptionMethod and
	// CipherData.
	NamespaceXEnc = "http://www.w3.org/2001/04/xmlenc#"
	// NamespaceXEnc11 is XML Encryption 1.1's, for DerivedKey.
	NamespaceXEnc11 = "http://www.w3.org/2009/xmlenc11#"
	// NamespacePKCS5 is PKCS #5's, for PBKDF2-params.
	NamespacePKCS5 = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#"
)

// Algorithm URIs this package understands.
const (
	// URIHOTP is the RFC 6030 key algorithm of HOTP (RFC 4226) keys.
	URIHOTP = "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
	// URITOTP is the key algorithm of TOTP (RFC 6238) keys, as registered
	// with IANA for PSKC.
	URITOTP = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
	// URIAES128CBC, URIAES192CBC and URIAES256CBC are the XML Encryption
	// block ciphers; values are IV || ciphertext with PKCS#7 padding.
	URIAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	URIAES192CBC = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	URIAES256CBC = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	// URIHMACSHA1, URIHMACSHA256 and URIHMACSHA512 are the MAC
	// algorithms for ValueMAC and the PBKDF2 pseudo-random functions.
	URIHMACSHA1   = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	URIHMACSHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
	URIHMACSHA512 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"
	// URIPBKDF2 is the PKCS #5 v2.0 key derivation method.
	URIPBKDF2 = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"
)

// Kind is the OTP algorithm of a key: HOTP or TOTP.
type Kind uint8

// The key kinds.
const (
	HOTP Kind = iota + 1
	TOTP
)

// String returns "hotp" or "totp".
func (k Kind) String() string {
	switch k {
	case HOTP:
		return "hotp"
	case TOTP:
		return "totp"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// URI returns the PSKC key algorithm URI of the kind.
func (k Kind) URI() string {
	if k == TOTP {
		return URITOTP
	}
	return URIHOTP
}

// kindFromURI maps a key algorithm URI to a kind. Besides the RFC 6030 and
// IANA URIs it accepts the "#hotp"/"#totp" spellings of the PSKC drafts,
// which some vendors still write.
func kindFromURI(uri string) (Kind, bool) {
	switch strings.TrimSpace(uri) {
	case URIHOTP, "urn:ietf:params:xml:ns:keyprov:pskc#hotp", "http://www.ietf.org/keyprov/pskc#hotp":
		return HOTP, true
	case URITOTP, "urn:ietf:params:xml:ns:keyprov:pskc#totp", "http://www.ietf.org/keyprov/pskc#totp":
		return TOTP, true
	}
	return 0, false
}

// KeyPackage is one device and its key: the KeyPackage element of a PSKC
// file with the parts OTP seed files use.
type KeyPackage struct {
	// Manufacturer is DeviceInfo/Manufacturer, such as
	// "Feitian Technology Co.,Ltd".
	Manufacturer string
	// SerialNo is DeviceInfo/SerialNo, the serial printed on the device.
	SerialNo string
	// Model is DeviceInfo/Model, if given.
	Model string
	// CryptoModuleID is CryptoModuleInfo/Id, if given.
	CryptoModuleID string
	// KeyID is the Id attribute of the Key element; vendors usually repeat
	// the serial there.
	KeyID string
	// Issuer is Key/Issuer, if given.
	Issuer string
	// Kind is HOTP or TOTP, from the Algorithm attribute of the Key.
	Kind Kind
	// Algorithm is the HMAC hash, from AlgorithmParameters/Suite; SHA1 when
	// the file does not say.
	Algorithm token.Algorithm
	// Digits is ResponseFormat/@Length; codes are always DECIMAL.
	Digits int
	// Secret is the key's secret, decrypted. It must never be logged.
	Secret []byte
	// Counter is Data/Counter (HOTP): the counter of the next code.
	Counter uint64
	// Time is Data/Time (TOTP), read by this project as the RFC 6238 T0 in
	// Unix seconds. Vendor files write 0.
	Time int64
	// TimeInterval is Data/TimeInterval (TOTP): the time step in seconds.
	TimeInterval int64
}

// Check reports whether the package is complete and consistent enough to
// be written: a kind, a secret, 6 to 10 digits, a valid algorithm, and a
// positive time interval for TOTP keys. The error wraps [ErrValue] or
// [ErrAlgorithm].
func (p *KeyPackage) Check() error {
	switch p.Kind {
	case HOTP, TOTP:
	default:
		return fmt.Errorf("key %q: kind %d: %w", p.KeyID, uint8(p.Kind), ErrAlgorithm)
	}
	if len(p.Secret) == 0 {
		return fmt.Errorf("key %q: %w: empty secret", p.KeyID, ErrValue)
	}
	if len(p.Secret) > maxSecretLen {
		return fmt.Errorf("key %q: %w: secret of %d bytes (at most %d)", p.KeyID, ErrValue, len(p.Secret), maxSecretLen)
	}
	if !p.Algorithm.Valid() {
		return fmt.Errorf("key %q: hash %d: %w", p.KeyID, uint8(p.Algorithm), ErrAlgorithm)
	}
	if err := token.CheckDigits(p.Digits); err != nil {
		return fmt.Errorf("key %q: response length: %w: %w", p.KeyID, ErrValue, err)
	}
	if p.Kind == TOTP {
		if err := token.CheckPeriod(p.TimeInterval); err != nil {
			return fmt.Errorf("key %q: time interval: %w: %w", p.KeyID, ErrValue, err)
		}
	}
	return nil
}

// maxSecretLen bounds a secret: far above any real OTP seed (64 bytes for
// HMAC-SHA512), low enough that a hostile file cannot make us allocate much.
const maxSecretLen = 1024

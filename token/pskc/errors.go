package pskc

import "errors"

// Errors returned by this package, wrapped with the position and the
// problem; test for them with [errors.Is].
var (
	// ErrFormat reports input that is not well-formed XML or not a PSKC
	// key container, or that lacks a required element.
	ErrFormat = errors.New("not a valid pskc file")
	// ErrTruncated reports input that ends before the key container does.
	ErrTruncated = errors.New("truncated pskc file")
	// ErrTooLarge reports input, or one element of it, larger than the
	// configured limits.
	ErrTooLarge = errors.New("pskc file too large")
	// ErrDoctype reports XML with a DOCTYPE or another directive, which
	// PSKC never needs and which is refused to rule out entity tricks.
	ErrDoctype = errors.New("xml doctype not allowed")
	// ErrAlgorithm reports an unknown or unsupported algorithm URI or
	// name: key algorithm, encryption, MAC, key derivation, PRF, suite or
	// response encoding.
	ErrAlgorithm = errors.New("unsupported algorithm")
	// ErrValue reports an element whose value is malformed or out of
	// range, such as bad base64 or a zero time interval.
	ErrValue = errors.New("invalid value")
	// ErrNeedKey reports an encrypted file read without the password or
	// pre-shared key it needs, or with the wrong kind of the two.
	ErrNeedKey = errors.New("encrypted pskc file needs a key")
	// ErrWrongKey reports a value that does not decrypt: the password or
	// pre-shared key is wrong (or the ciphertext was altered).
	ErrWrongKey = errors.New("wrong password or key")
	// ErrMAC reports a ValueMAC that does not match its encrypted value:
	// the file was altered, or the key is wrong.
	ErrMAC = errors.New("valuemac mismatch")
	// ErrSerial reports a device serial that cannot be mapped to a
	// simulated device of the requested model.
	ErrSerial = errors.New("invalid device serial")
)

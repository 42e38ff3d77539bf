// Package pskc reads and writes RFC 6030 Portable Symmetric Key Container
// (PSKC) files, the XML seed files in which token vendors ship the secrets
// of their devices.
//
// It covers what OTP seed files use in practice: HOTP keys (with a
// Counter) and TOTP keys (with Time and TimeInterval), DeviceInfo
// (Manufacturer, SerialNo, Model), ResponseFormat (Length, DECIMAL), values
// in the clear (PlainValue) or encrypted with AES-CBC (EncryptedValue) under
// a pre-shared key or a key derived from a password with PBKDF2, and
// ValueMAC integrity codes (HMAC-SHA1 or HMAC-SHA256 with the MAC key
// carried encrypted in MACMethod), verified on read and produced on write.
//
// Both directions stream: a [Decoder] returns one key package at a time
// and never holds more than one package of input in memory, and an
// [Encoder] writes each package as it is given, so a file of a million keys
// costs the same memory as a file of one. A password-protected file derives
// its key once per file, not once per key.
//
// Reading is defensive: XML with a DOCTYPE is refused, the input size and
// the size of each package are bounded, unknown algorithm URIs are errors,
// and errors never contain a secret, a password or a key. Every error wraps
// one of the sentinel errors of this package (test with [errors.Is]) and
// names the line and key package concerned.
//
// The package does not read the wall clock or any global state; randomness
// for IVs, salts and MAC keys comes from crypto/rand unless the caller
// provides a reader.
package pskc

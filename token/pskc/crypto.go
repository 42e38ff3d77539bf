package pskc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
	"strings"
)

// cipherKeyLen returns the AES key length an XML Encryption block cipher URI
// requires.
func cipherKeyLen(uri string) (int, bool) {
	switch strings.TrimSpace(uri) {
	case URIAES128CBC:
		return 16, true
	case URIAES192CBC:
		return 24, true
	case URIAES256CBC:
		return 32, true
	}
	return 0, false
}

// cipherURI returns the AES-CBC URI for a key length.
func cipherURI(keyLen int) string {
	switch keyLen {
	case 24:
		return URIAES192CBC
	case 32:
		return URIAES256CBC
	}
	return URIAES128CBC
}

// macHash maps a MAC or PRF URI to its hash.
func macHash(uri string) (func() hash.Hash, bool) {
	switch strings.TrimSpace(uri) {
	case URIHMACSHA1:
		return sha1.New, true
	case URIHMACSHA256:
		return sha256.New, true
	case URIHMACSHA512:
		return sha512.New, true
	}
	return nil, false
}

// decryptCBC decrypts IV || ciphertext with AES-CBC and removes the PKCS#7
// padding. A bad length or bad padding means the key is wrong or the data
// altered; the error wraps [ErrWrongKey] and never shows the data.
func decryptCBC(key, data []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: aes key of %d bytes", ErrNeedKey, len(key))
	}
	bs := block.BlockSize()
	if len(data) < 2*bs || len(data)%bs != 0 {
		return nil, fmt.Errorf("%w: encrypted value of %d bytes is not an iv and whole aes blocks", ErrValue, len(data))
	}
	iv, ct := data[:bs], data[bs:]
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	n := int(out[len(out)-1])
	if n == 0 || n > bs {
		return nil, fmt.Errorf("%w: value does not decrypt (bad padding)", ErrWrongKey)
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, fmt.Errorf("%w: value does not decrypt (bad padding)", ErrWrongKey)
		}
	}
	return out[:len(out)-n], nil
}

// encryptCBC encrypts plain with AES-CBC under key, with a fresh IV from
// rnd and PKCS#7 padding, and appends IV || ciphertext to dst.
func encryptCBC(dst []byte, block cipher.Block, rnd io.Reader, plain []byte) ([]byte, error) {
	bs := block.BlockSize()
	n := bs - len(plain)%bs
	start := len(dst)
	total := bs + len(plain) + n
	dst = append(dst, make([]byte, total)...)
	buf := dst[start:]
	if _, err := io.ReadFull(rnd, buf[:bs]); err != nil {
		return nil, fmt.Errorf("pskc: random iv: %w", err)
	}
	copy(buf[bs:], plain)
	for i := bs + len(plain); i < total; i++ {
		buf[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, buf[:bs]).CryptBlocks(buf[bs:], buf[bs:])
	return dst, nil
}

// checkMAC verifies mac = HMAC(key, data) in constant time.
func checkMAC(h func() hash.Hash, key, data, mac []byte) bool {
	m := hmac.New(h, key)
	m.Write(data)
	return subtle.ConstantTimeCompare(m.Sum(nil), mac) == 1
}

// maxIterations bounds the PBKDF2 iteration count a file may ask for, so a
// hostile file cannot make a reader spin for hours.
const maxIterations = 10_000_000

// deriveKey runs PBKDF2 with the file's parameters.
func deriveKey(prf func() hash.Hash, password string, salt []byte, iter, keyLen int) ([]byte, error) {
	k, err := pbkdf2.Key(prf, password, salt, iter, keyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: pbkdf2: %w", ErrValue, err)
	}
	return k, nil
}

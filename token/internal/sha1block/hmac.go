package sha1block

import (
	"crypto/sha1"
	"encoding/binary"
)

// The HMAC-SHA1 of an 8-byte counter (RFC 2104, as RFC 4226 uses it) with
// the key pads done once.
//
// HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m)), and K0 is exactly one
// block, so the states after it are fixed per key: [Pads]. What follows is
// one block each time. The inner block holds the 8 counter bytes and the
// padding of a 72-byte message; the outer block holds the 20 inner digest
// bytes and the padding of an 84-byte message. SHA-1 reads a block as
// big-endian words and its digest is the big-endian bytes of its state
// words, so both blocks are assembled from words without converting to
// bytes.

const (
	innerBits = (sha1.BlockSize + 8) * 8         // length word of the inner block
	outerBits = (sha1.BlockSize + sha1.Size) * 8 // length word of the outer block
	endWord   = 0x80000000                       // the 1 bit that ends a message
)

// Pads returns the SHA-1 states after compressing the key XOR ipad (index 0)
// and the key XOR opad (index 1). A key longer than a block is hashed first,
// as RFC 2104 says.
func Pads(key []byte) [2][5]uint32 {
	var k0 [sha1.BlockSize]byte
	if len(key) > sha1.BlockSize {
		d := sha1.Sum(key)
		copy(k0[:], d[:])
	} else {
		copy(k0[:], key)
	}
	var states [2][5]uint32
	for j, pad := range [2]uint32{0x36363636, 0x5c5c5c5c} {
		var w [16]uint32
		for i := range w {
			w[i] = binary.BigEndian.Uint32(k0[4*i:]) ^ pad
		}
		states[j] = Init
		Generic(&states[j], &w)
	}
	return states
}

// HMACCounterGeneric sets out to the state words of HMAC-SHA1(key, counter
// as 8 big-endian bytes), given pads = Pads(key), in portable Go.
func HMACCounterGeneric(pads *[2][5]uint32, counter uint64, out *[5]uint32) {
	w := [16]uint32{0: uint32(counter >> 32), 1: uint32(counter), 2: endWord, 15: innerBits}
	h := pads[0]
	Generic(&h, &w)
	w = [16]uint32{0: h[0], 1: h[1], 2: h[2], 3: h[3], 4: h[4], 5: endWord, 15: outerBits}
	*out = pads[1]
	Generic(out, &w)
}

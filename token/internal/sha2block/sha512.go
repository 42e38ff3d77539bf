package sha2block

import (
	"crypto/sha512"
	"encoding/binary"
	"math/bits"
)

// Init512 is the SHA-512 initial hash value (FIPS 180-4, 5.3.5).
var Init512 = [8]uint64{0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179}

// Generic512 compresses the block w into h (FIPS 180-4, 6.4.2).
func Generic512(h *[8]uint64, w *[16]uint64) {
	var x [80]uint64
	copy(x[:], w[:])
	for i := 16; i < 80; i++ {
		s0 := bits.RotateLeft64(x[i-15], -1) ^ bits.RotateLeft64(x[i-15], -8) ^ x[i-15]>>7
		s1 := bits.RotateLeft64(x[i-2], -19) ^ bits.RotateLeft64(x[i-2], -61) ^ x[i-2]>>6
		x[i] = x[i-16] + s0 + x[i-7] + s1
	}
	a, b, c, d, e, f, g, hh := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	for i := 0; i < 80; i++ {
		s1 := bits.RotateLeft64(e, -14) ^ bits.RotateLeft64(e, -18) ^ bits.RotateLeft64(e, -41)
		ch := e&f ^ ^e&g
		t1 := hh + s1 + ch + k512[i] + x[i]
		s0 := bits.RotateLeft64(a, -28) ^ bits.RotateLeft64(a, -34) ^ bits.RotateLeft64(a, -39)
		maj := a&b ^ a&c ^ b&c
		t2 := s0 + maj
		hh, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
	}
	h[0] += a
	h[1] += b
	h[2] += c
	h[3] += d
	h[4] += e
	h[5] += f
	h[6] += g
	h[7] += hh
}

// Pads512 returns the SHA-512 states after compressing the key XOR ipad
// (index 0) and the key XOR opad (index 1). A key longer than a block is
// hashed first, as RFC 2104 says.
func Pads512(key []byte) [2][8]uint64 {
	var k0 [sha512.BlockSize]byte
	if len(key) > sha512.BlockSize {
		d := sha512.Sum512(key)
		copy(k0[:], d[:])
	} else {
		copy(k0[:], key)
	}
	var states [2][8]uint64
	for j, pad := range [2]uint64{0x3636363636363636, 0x5c5c5c5c5c5c5c5c} {
		var w [16]uint64
		for i := range w {
			w[i] = binary.BigEndian.Uint64(k0[8*i:]) ^ pad
		}
		states[j] = Init512
		Generic512(&states[j], &w)
	}
	return states
}

// HMACCounterGeneric512 sets out to the state words of HMAC-SHA512(key,
// counter as 8 big-endian bytes), given pads = Pads512(key): one inner block
// (the counter, the end bit, and the 128-bit length of a 136-byte message)
// and one outer block (the inner digest and the padding of a 192-byte
// message).
func HMACCounterGeneric512(pads *[2][8]uint64, counter uint64, out *[8]uint64) {
	w := [16]uint64{0: counter, 1: 1 << 63, 15: (128 + 8) * 8}
	h := pads[0]
	Generic512(&h, &w)
	w = [16]uint64{h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1 << 63, 15: (128 + 64) * 8}
	*out = pads[1]
	Generic512(out, &w)
}

package sha2block

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// Init256 is the SHA-256 initial hash value (FIPS 180-4, 5.3.3).
var Init256 = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// Generic256 compresses the block w into h (FIPS 180-4, 6.2.2).
func Generic256(h *[8]uint32, w *[16]uint32) {
	var x [64]uint32
	copy(x[:], w[:])
	for i := 16; i < 64; i++ {
		s0 := bits.RotateLeft32(x[i-15], -7) ^ bits.RotateLeft32(x[i-15], -18) ^ x[i-15]>>3
		s1 := bits.RotateLeft32(x[i-2], -17) ^ bits.RotateLeft32(x[i-2], -19) ^ x[i-2]>>10
		x[i] = x[i-16] + s0 + x[i-7] + s1
	}
	a, b, c, d, e, f, g, hh := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	for i := 0; i < 64; i++ {
		s1 := bits.RotateLeft32(e, -6) ^ bits.RotateLeft32(e, -11) ^ bits.RotateLeft32(e, -25)
		ch := e&f ^ ^e&g
		t1 := hh + s1 + ch + k256[i] + x[i]
		s0 := bits.RotateLeft32(a, -2) ^ bits.RotateLeft32(a, -13) ^ bits.RotateLeft32(a, -22)
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

// Pads256 returns the SHA-256 states after compressing the key XOR ipad
// (index 0) and the key XOR opad (index 1). A key longer than a block is
// hashed first, as RFC 2104 says.
func Pads256(key []byte) [2][8]uint32 {
	var k0 [sha256.BlockSize]byte
	if len(key) > sha256.BlockSize {
		d := sha256.Sum256(key)
		copy(k0[:], d[:])
	} else {
		copy(k0[:], key)
	}
	var states [2][8]uint32
	for j, pad := range [2]uint32{0x36363636, 0x5c5c5c5c} {
		var w [16]uint32
		for i := range w {
			w[i] = binary.BigEndian.Uint32(k0[4*i:]) ^ pad
		}
		states[j] = Init256
		Generic256(&states[j], &w)
	}
	return states
}

// HMACCounterGeneric256 sets out to the state words of HMAC-SHA256(key,
// counter as 8 big-endian bytes), given pads = Pads256(key): one inner block
// (the counter and the padding of a 72-byte message) and one outer block
// (the inner digest and the padding of a 96-byte message).
func HMACCounterGeneric256(pads *[2][8]uint32, counter uint64, out *[8]uint32) {
	w := [16]uint32{0: uint32(counter >> 32), 1: uint32(counter), 2: 0x80000000, 15: (64 + 8) * 8}
	h := pads[0]
	Generic256(&h, &w)
	w = [16]uint32{h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 0x80000000, 15: (64 + 32) * 8}
	*out = pads[1]
	Generic256(out, &w)
}

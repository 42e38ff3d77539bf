package sha1block

import "math/bits"

// Generic compresses the block w into h (FIPS 180-4, 6.1.2) in portable Go.
func Generic(h *[5]uint32, w *[16]uint32) {
	var x [16]uint32
	x = *w
	a, b, c, d, e := h[0], h[1], h[2], h[3], h[4]
	// Rounds 0-15 use the message words as given.
	for i := 0; i < 16; i++ {
		t := bits.RotateLeft32(a, 5) + (b&c | ^b&d) + e + 0x5A827999 + x[i]
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	// From round 16 on, x is a ring of the last sixteen schedule words.
	for i := 16; i < 20; i++ {
		s := x[(i-3)&15] ^ x[(i-8)&15] ^ x[(i-14)&15] ^ x[i&15]
		x[i&15] = bits.RotateLeft32(s, 1)
		t := bits.RotateLeft32(a, 5) + (b&c | ^b&d) + e + 0x5A827999 + x[i&15]
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	for i := 20; i < 40; i++ {
		s := x[(i-3)&15] ^ x[(i-8)&15] ^ x[(i-14)&15] ^ x[i&15]
		x[i&15] = bits.RotateLeft32(s, 1)
		t := bits.RotateLeft32(a, 5) + (b ^ c ^ d) + e + 0x6ED9EBA1 + x[i&15]
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	for i := 40; i < 60; i++ {
		s := x[(i-3)&15] ^ x[(i-8)&15] ^ x[(i-14)&15] ^ x[i&15]
		x[i&15] = bits.RotateLeft32(s, 1)
		t := bits.RotateLeft32(a, 5) + (b&c | b&d | c&d) + e + 0x8F1BBCDC + x[i&15]
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	for i := 60; i < 80; i++ {
		s := x[(i-3)&15] ^ x[(i-8)&15] ^ x[(i-14)&15] ^ x[i&15]
		x[i&15] = bits.RotateLeft32(s, 1)
		t := bits.RotateLeft32(a, 5) + (b ^ c ^ d) + e + 0xCA62C1D6 + x[i&15]
		a, b, c, d, e = t, a, bits.RotateLeft32(b, 30), c, d
	}
	h[0] += a
	h[1] += b
	h[2] += c
	h[3] += d
	h[4] += e
}

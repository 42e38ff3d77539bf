package token

import (
	"crypto/subtle"

	"github.com/otplab/otplab/token/internal/sha1block"
)

// sha1HMAC returns HMAC-SHA1(secret, counter) as the five state words of
// the outer hash: two compressions from the precomputed pad states.
func (k *Key) sha1HMAC(counter uint64) [5]uint32 {
	var h [5]uint32
	if k.shani {
		sha1block.HMACCounter(&k.sha1Pads, counter, &h)
	} else {
		sha1block.HMACCounterGeneric(&k.sha1Pads, counter, &h)
	}
	return h
}

// truncateWords is RFC 4226 dynamic truncation of a SHA-1 digest given as
// its state words: the low 4 bits of the last byte give the offset of 4
// bytes, which straddle at most two words.
func truncateWords(h *[5]uint32) uint32 {
	off := h[4] & 0x0f
	i := off >> 2
	s := (off & 3) * 8
	// For s == 0 the second shift is by 32 and yields 0, as Go defines it.
	return (h[i&3]<<s | h[(i&3)+1]>>(32-s)) & 0x7fffffff
}

// findSHA1 is FindValue for a SHA1 key with SHA-NI: two counters per call,
// whose compressions overlap in the CPU, while at least two are left.
func (k *Key) findSHA1(want uint32, from, last uint64) (uint64, bool) {
	var two [2][5]uint32
	c := from
	for ; c < last; c += 2 {
		sha1block.HMACCounter2(&k.sha1Pads, c, &two)
		v0 := k.reduce(truncateWords(&two[0]))
		v1 := k.reduce(truncateWords(&two[1]))
		if subtle.ConstantTimeEq(int32(v0), int32(want)) == 1 {
			return c, true
		}
		if subtle.ConstantTimeEq(int32(v1), int32(want)) == 1 {
			return c + 1, true
		}
		if c+1 == last {
			return 0, false
		}
	}
	// One counter left: c == last.
	if subtle.ConstantTimeEq(int32(k.Value(c)), int32(want)) == 1 {
		return c, true
	}
	return 0, false
}

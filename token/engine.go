package token

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"sync"

	"github.com/otplab/otplab/token/internal/sha1block"
	"github.com/otplab/otplab/token/internal/sha2block"
)

// hmac1, hmac256 and hmac512 return HMAC(secret, counter) as the state
// words of the outer hash: two compressions from the precomputed pads.

func (k *Key) hmac1(counter uint64) [5]uint32 {
	var h [5]uint32
	if k.shani {
		sha1block.HMACCounter(&k.pads1, counter, &h)
	} else {
		sha1block.HMACCounterGeneric(&k.pads1, counter, &h)
	}
	return h
}

// hmac256 uses SHA-NI where the key may; otherwise crypto/hmac (whose
// SHA-256 has AVX2 assembly) when no other goroutine holds it, and portable
// Go from the pad states when one does.
func (k *Key) hmac256(counter uint64) [8]uint32 {
	var h [8]uint32
	switch {
	case k.shani:
		sha2block.HMACCounter256(&k.pads256, counter, &h)
	case k.mac.mu.TryLock():
		sum := k.mac.sum(counter)
		for i := range h {
			h[i] = binary.BigEndian.Uint32(sum[4*i:])
		}
		k.mac.mu.Unlock()
	default:
		sha2block.HMACCounterGeneric256(&k.pads256, counter, &h)
	}
	return h
}

// hmac512 uses crypto/hmac (whose SHA-512 has AVX2 assembly) when no other
// goroutine holds it, and portable Go from the pad states when one does.
func (k *Key) hmac512(counter uint64) [8]uint64 {
	var h [8]uint64
	if k.mac.mu.TryLock() {
		sum := k.mac.sum(counter)
		for i := range h {
			h[i] = binary.BigEndian.Uint64(sum[8*i:])
		}
		k.mac.mu.Unlock()
		return h
	}
	sha2block.HMACCounterGeneric512(&k.pads512, counter, &h)
	return h
}

// lockedMAC is a crypto/hmac state and its buffers, used only by whoever
// holds mu. Callers take it with TryLock and compute the value in portable
// Go when it is busy, so nobody waits and no scratch is shared.
type lockedMAC struct {
	mu  sync.Mutex
	mac hash.Hash
	msg [8]byte
	buf [sha512.Size]byte
}

// sum returns HMAC(secret, counter); the caller holds mu and reads the
// result before unlocking.
func (m *lockedMAC) sum(counter uint64) []byte {
	binary.BigEndian.PutUint64(m.msg[:], counter)
	m.mac.Reset()
	m.mac.Write(m.msg[:])
	return m.mac.Sum(m.buf[:0])
}

// truncate1, truncate256 and truncate512 are RFC 4226 dynamic truncation of
// a digest given as its big-endian state words: the low 4 bits of the last
// byte give the offset of 4 bytes, which straddle at most two words. Where
// the offset is word-aligned the second shift equals the word size and
// yields 0, as Go defines it.

func truncate1(h *[5]uint32) uint32 {
	off := h[4] & 0x0f
	i, s := (off>>2)&3, (off&3)*8
	return (h[i]<<s | h[i+1]>>(32-s)) & 0x7fffffff
}

func truncate256(h *[8]uint32) uint32 {
	off := h[7] & 0x0f
	i, s := (off>>2)&3, (off&3)*8
	return (h[i]<<s | h[i+1]>>(32-s)) & 0x7fffffff
}

func truncate512(h *[8]uint64) uint32 {
	off := h[7] & 0x0f
	i, s := (off>>3)&1, (off&7)*8
	return uint32((h[i]<<s|h[i+1]>>(64-s))>>32) & 0x7fffffff
}

// find1 is FindValue for a SHA1 key with SHA-NI: two counters per call,
// whose compressions overlap in the CPU, while at least two are left.
func (k *Key) find1(want uint32, from, last uint64) (uint64, bool) {
	var two [2][5]uint32
	c := from
	for ; c < last; c += 2 {
		sha1block.HMACCounter2(&k.pads1, c, &two)
		v0 := k.reduce(truncate1(&two[0]))
		v1 := k.reduce(truncate1(&two[1]))
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

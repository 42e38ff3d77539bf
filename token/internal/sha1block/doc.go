// Package sha1block is the SHA-1 compression function on its own, for HMAC
// code paths that precompute the key pad states and then compress exactly
// one inner and one outer block per message.
//
// Blocks are given as sixteen 32-bit message words (the big-endian words of
// the 64-byte block), so callers that assemble a block from numbers never
// convert to bytes and back. [Generic] is portable Go; [SHANI] uses the
// x86 SHA extensions and may be called only when [HasSHANI] reports true.
package sha1block

// Init is the SHA-1 initial hash value (FIPS 180-4, 5.3.1).
var Init = [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}

// HasSHANI reports whether [SHANI] can run on this CPU. It is false on
// every architecture but amd64, on amd64 CPUs without the SHA extensions,
// and when the GODEBUG environment variable turns the extensions off as it
// does for the standard library ("cpu.sha=off" or "cpu.all=off").
func HasSHANI() bool { return haveSHANI }

// Block compresses the block w into h with the fastest implementation the
// CPU offers.
func Block(h *[5]uint32, w *[16]uint32) {
	if haveSHANI {
		SHANI(h, w)
		return
	}
	Generic(h, w)
}

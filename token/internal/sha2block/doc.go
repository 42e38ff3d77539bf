// Package sha2block is the SHA-256 and SHA-512 compression functions on
// their own, and HMAC of an 8-byte counter built from them with the key
// pads computed once, as [sha1block] does for SHA-1.
//
// Blocks are given as sixteen message words (the big-endian words of the
// block), so a block assembled from numbers is never converted to bytes.
// The functions without a suffix are portable Go; [HMACCounter256] uses the
// x86 SHA extensions and may be called only when [HasSHANI] reports true.
// There is no SHA-512 assembly: few CPUs have SHA-512 instructions.
package sha2block

//go:generate go run gen.go

import "github.com/otplab/otplab/token/internal/sha1block"

// HasSHANI reports whether [HMACCounter256] can run on this CPU. The x86
// SHA extensions cover SHA-1 and SHA-256 together, so this is
// [sha1block.HasSHANI].
func HasSHANI() bool { return sha1block.HasSHANI() }

//go:build amd64

package sha2block

// HMACCounter256 is [HMACCounterGeneric256] with the x86 SHA extensions,
// both compressions in one call. It may be called only when [HasSHANI]
// reports true.
//
//go:noescape
func HMACCounter256(pads *[2][8]uint32, counter uint64, out *[8]uint32)

//go:build !amd64

package sha2block

// HMACCounter256 is not available on this architecture; it panics.
// Callers check [HasSHANI] first.
func HMACCounter256(pads *[2][8]uint32, counter uint64, out *[8]uint32) {
	panic("sha2block: SHA-NI is not available on this architecture")
}

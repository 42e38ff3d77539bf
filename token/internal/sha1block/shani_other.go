//go:build !amd64

package sha1block

const haveSHANI = false

// SHANI is not available on this architecture; it panics. Callers check
// [HasSHANI] first.
func SHANI(h *[5]uint32, w *[16]uint32) {
	panic("sha1block: SHA-NI is not available on this architecture")
}

// HMACCounter is not available on this architecture; it panics.
func HMACCounter(pads *[2][5]uint32, counter uint64, out *[5]uint32) {
	panic("sha1block: SHA-NI is not available on this architecture")
}

// HMACCounter2 is not available on this architecture; it panics.
func HMACCounter2(pads *[2][5]uint32, counter uint64, out *[2][5]uint32) {
	panic("sha1block: SHA-NI is not available on this architecture")
}

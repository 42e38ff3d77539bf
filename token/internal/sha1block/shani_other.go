//go:build !amd64

package sha1block

const haveSHANI = false

// SHANI is not available on this architecture; it panics. Callers check
// [HasSHANI] first.
func SHANI(h *[5]uint32, w *[16]uint32) {
	panic("sha1block: SHA-NI is not available on this architecture")
}

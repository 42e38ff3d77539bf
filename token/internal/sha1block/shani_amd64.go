//go:build amd64

package sha1block

import "os"

//go:generate go run gen.go

// SHANI compresses the block w into h with the x86 SHA extensions. It may be
// called only when [HasSHANI] reports true.
//
//go:noescape
func SHANI(h *[5]uint32, w *[16]uint32)

// HMACCounter is [HMACCounterGeneric] with the x86 SHA extensions, both
// compressions in one call. It may be called only when [HasSHANI] reports
// true.
//
//go:noescape
func HMACCounter(pads *[2][5]uint32, counter uint64, out *[5]uint32)

// HMACCounter2 sets out[0] to the HMAC of counter and out[1] to that of
// counter+1 (wrapping to 0 after the last counter), computing both at once:
// SHA-NI rounds are bound by latency, so two independent chains cost little
// more than one. It may be called only when [HasSHANI] reports true.
//
//go:noescape
func HMACCounter2(pads *[2][5]uint32, counter uint64, out *[2][5]uint32)

// cpuid returns the registers CPUID leaves for the given leaf and subleaf.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// haveSHANI is set once at start-up and never changed.
var haveSHANI = detect(os.Getenv("GODEBUG"))

// detect reports whether the CPU has the SHA extensions (CPUID leaf 7,
// EBX bit 29) and godebug does not turn them off.
func detect(godebug string) bool {
	if !cpuHasSHA() {
		return false
	}
	return !godebugOff(godebug)
}

func cpuHasSHA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<29) != 0
}

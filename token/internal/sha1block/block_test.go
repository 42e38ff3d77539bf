package sha1block

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"testing"

	"pgregory.net/rapid"
)

type blockFunc func(h *[5]uint32, w *[16]uint32)

// impls lists the implementations this CPU can run; Generic always runs.
func impls(t testing.TB) map[string]blockFunc {
	m := map[string]blockFunc{"generic": Generic}
	if HasSHANI() {
		m["shani"] = SHANI
	} else {
		t.Log("SHA-NI not available here: only the generic block function is tested")
	}
	return m
}

// sum is SHA-1 of data built from a block function and this test's own
// padding, to compare with crypto/sha1 on any input.
func sum(data []byte, block blockFunc) [sha1.Size]byte {
	n := len(data)
	msg := append(append([]byte(nil), data...), 0x80)
	for len(msg)%64 != 56 {
		msg = append(msg, 0)
	}
	msg = binary.BigEndian.AppendUint64(msg, uint64(n)*8)
	h := Init
	var w [16]uint32
	for len(msg) > 0 {
		for i := range w {
			w[i] = binary.BigEndian.Uint32(msg[4*i:])
		}
		block(&h, &w)
		msg = msg[64:]
	}
	var out [sha1.Size]byte
	for i, v := range h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return out
}

func TestKnownDigests(t *testing.T) {
	// FIPS 180 examples: "abc" and the 448-bit two-block message.
	cases := map[string]string{
		"abc": "a9993e364706816aba3e25717850c26c9cd0d89d",
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq": "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
		"": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	}
	for name, fn := range impls(t) {
		for in, want := range cases {
			got := sum([]byte(in), fn)
			if hexs := bytesHex(got[:]); hexs != want {
				t.Errorf("%s: SHA-1(%q) = %s, want %s", name, in, hexs, want)
			}
		}
	}
}

func bytesHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestAgreesWithCryptoSHA1(t *testing.T) {
	fns := impls(t)
	rapid.Check(t, func(t *rapid.T) {
		data := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "data")
		want := sha1.Sum(data)
		for name, fn := range fns {
			if got := sum(data, fn); got != want {
				t.Fatalf("%s: %x, crypto/sha1 %x", name, got, want)
			}
		}
	})
}

// TestImplementationsAgree compresses random blocks into random states, which
// reaches states no message from the initial value would be likely to hit.
func TestImplementationsAgree(t *testing.T) {
	if !HasSHANI() {
		t.Skip("SHA-NI not available here")
	}
	rapid.Check(t, func(t *rapid.T) {
		var h [5]uint32
		var w [16]uint32
		for i := range h {
			h[i] = rapid.Uint32().Draw(t, "h")
		}
		for i := range w {
			w[i] = rapid.Uint32().Draw(t, "w")
		}
		a, b := h, h
		Generic(&a, &w)
		SHANI(&b, &w)
		if a != b {
			t.Fatalf("generic %x, shani %x", a, b)
		}
	})
}

// TestDetectsBrokenBlock checks that the comparison above can fail: a block
// function that skips the final addition of one word is caught.
func TestDetectsBrokenBlock(t *testing.T) {
	broken := func(h *[5]uint32, w *[16]uint32) {
		e := h[4]
		Generic(h, w)
		h[4] = e
	}
	if got, want := sum([]byte("abc"), broken), sha1.Sum([]byte("abc")); got == want {
		t.Fatal("a broken block function gave the right digest")
	}
}

func TestGodebugOff(t *testing.T) {
	for in, want := range map[string]bool{
		"":                          false,
		"cpu.sha=off":               true,
		"gctrace=1,cpu.sha=off":     true,
		"cpu.all=off":               true,
		"cpu.all=off,cpu.sha=on":    false,
		"cpu.sha=on,cpu.sha=off":    true,
		"cpu.avx2=off,http2debug=1": false,
	} {
		if got := godebugOff(in); got != want {
			t.Errorf("godebugOff(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzAgreesWithCryptoSHA1(f *testing.F) {
	for _, s := range []string{"", "abc", string(bytes.Repeat([]byte{0xff}, 64)), string(make([]byte, 119))} {
		f.Add([]byte(s))
	}
	fns := impls(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		want := sha1.Sum(data)
		for name, fn := range fns {
			if got := sum(data, fn); got != want {
				t.Fatalf("%s: %x, crypto/sha1 %x", name, got, want)
			}
		}
	})
}

func BenchmarkBlock(b *testing.B) {
	for name, fn := range impls(b) {
		b.Run(name, func(b *testing.B) {
			h := Init
			var w [16]uint32
			for b.Loop() {
				fn(&h, &w)
			}
		})
	}
}

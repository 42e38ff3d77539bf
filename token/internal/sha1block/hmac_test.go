package sha1block

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"math"
	"testing"

	"pgregory.net/rapid"
)

// wantHMAC is HMAC-SHA1 by crypto/hmac, as state words.
func wantHMAC(key []byte, counter uint64) [5]uint32 {
	m := hmac.New(sha1.New, key)
	m.Write(binary.BigEndian.AppendUint64(nil, counter))
	d := m.Sum(nil)
	var w [5]uint32
	for i := range w {
		w[i] = binary.BigEndian.Uint32(d[4*i:])
	}
	return w
}

// checkHMAC compares every HMAC implementation this CPU runs with
// crypto/hmac for one key and counter.
func checkHMAC(t interface{ Fatalf(string, ...any) }, key []byte, counter uint64) {
	want := wantHMAC(key, counter)
	pads := Pads(key)
	var got [5]uint32
	HMACCounterGeneric(&pads, counter, &got)
	if got != want {
		t.Fatalf("generic: counter %d: %08x, crypto/hmac %08x", counter, got, want)
	}
	if !HasSHANI() {
		return
	}
	HMACCounter(&pads, counter, &got)
	if got != want {
		t.Fatalf("shani: counter %d: %08x, crypto/hmac %08x", counter, got, want)
	}
	var two [2][5]uint32
	HMACCounter2(&pads, counter, &two)
	if two[0] != want {
		t.Fatalf("shani x2: counter %d: %08x, crypto/hmac %08x", counter, two[0], want)
	}
	if next := wantHMAC(key, counter+1); two[1] != next {
		t.Fatalf("shani x2: counter %d+1: %08x, crypto/hmac %08x", counter, two[1], next)
	}
}

// TestHMACRFC4226 checks the RFC 4226 Appendix D intermediate HMAC values.
func TestHMACRFC4226(t *testing.T) {
	key := []byte("12345678901234567890")
	for c, want := range map[uint64]string{
		0: "cc93cf18508d94934c64b65d8ba7667fb7cde4b0",
		9: "1637409809a679dc698207310c8c7fc07290d9e5",
	} {
		checkHMAC(t, key, c)
		pads := Pads(key)
		var h [5]uint32
		HMACCounterGeneric(&pads, c, &h)
		var b []byte
		for _, v := range h {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		if got := bytesHex(b); got != want {
			t.Errorf("counter %d: %s, want %s", c, got, want)
		}
	}
}

func TestHMACAgreesWithCrypto(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.SliceOfN(rapid.Byte(), 0, 200).Draw(t, "key")
		counter := rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 1000),
			rapid.Uint64Range(math.MaxUint32-3, math.MaxUint32+3),
			rapid.Uint64Range(math.MaxUint64-3, math.MaxUint64)).Draw(t, "counter")
		checkHMAC(t, key, counter)
	})
}

// TestHMACCatchesWrongPadding checks that the comparison can fail: an inner
// block with the wrong length word gives a different value.
func TestHMACCatchesWrongPadding(t *testing.T) {
	key := []byte("12345678901234567890")
	pads := Pads(key)
	w := [16]uint32{0: 0, 1: 0, 2: endWord, 15: innerBits - 8}
	h := pads[0]
	Generic(&h, &w)
	w = [16]uint32{0: h[0], 1: h[1], 2: h[2], 3: h[3], 4: h[4], 5: endWord, 15: outerBits}
	h = pads[1]
	Generic(&h, &w)
	if h == wantHMAC(key, 0) {
		t.Fatal("a wrong inner length word went unnoticed")
	}
}

func FuzzHMACCounter(f *testing.F) {
	f.Add([]byte("12345678901234567890"), uint64(0))
	f.Add([]byte{}, uint64(math.MaxUint64))
	f.Add(make([]byte, 65), uint64(math.MaxUint32))
	f.Fuzz(func(t *testing.T, key []byte, counter uint64) {
		checkHMAC(t, key, counter)
	})
}

func BenchmarkHMAC(b *testing.B) {
	pads := Pads([]byte("12345678901234567890"))
	var out [5]uint32
	b.Run("generic", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			HMACCounterGeneric(&pads, uint64(i), &out)
		}
	})
	if !HasSHANI() {
		return
	}
	b.Run("shani", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			HMACCounter(&pads, uint64(i), &out)
		}
	})
	b.Run("shani-x2", func(b *testing.B) {
		var two [2][5]uint32
		for i := 0; b.Loop(); i += 2 {
			HMACCounter2(&pads, uint64(i), &two)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/counter")
	})
}

package sha2block

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"hash"
	"math"
	"testing"

	"pgregory.net/rapid"
)

// sum256 and sum512 are SHA-256 and SHA-512 from the generic block
// functions and this test's own padding, to compare with crypto on any
// input.
func sum256(data []byte) []byte {
	msg := append(append([]byte(nil), data...), 0x80)
	for len(msg)%64 != 56 {
		msg = append(msg, 0)
	}
	msg = binary.BigEndian.AppendUint64(msg, uint64(len(data))*8)
	h := Init256
	var w [16]uint32
	for ; len(msg) > 0; msg = msg[64:] {
		for i := range w {
			w[i] = binary.BigEndian.Uint32(msg[4*i:])
		}
		Generic256(&h, &w)
	}
	var out []byte
	for _, v := range h {
		out = binary.BigEndian.AppendUint32(out, v)
	}
	return out
}

func sum512(data []byte) []byte {
	msg := append(append([]byte(nil), data...), 0x80)
	for len(msg)%128 != 112 {
		msg = append(msg, 0)
	}
	msg = binary.BigEndian.AppendUint64(msg, 0)
	msg = binary.BigEndian.AppendUint64(msg, uint64(len(data))*8)
	h := Init512
	var w [16]uint64
	for ; len(msg) > 0; msg = msg[128:] {
		for i := range w {
			w[i] = binary.BigEndian.Uint64(msg[8*i:])
		}
		Generic512(&h, &w)
	}
	var out []byte
	for _, v := range h {
		out = binary.BigEndian.AppendUint64(out, v)
	}
	return out
}

func TestGenericAgreesWithCrypto(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		data := rapid.SliceOfN(rapid.Byte(), 0, 400).Draw(t, "data")
		if want := sha256.Sum256(data); !bytes.Equal(sum256(data), want[:]) {
			t.Fatalf("SHA-256 of %d bytes differs", len(data))
		}
		if want := sha512.Sum512(data); !bytes.Equal(sum512(data), want[:]) {
			t.Fatalf("SHA-512 of %d bytes differs", len(data))
		}
	})
}

func cryptoHMAC(h func() hash.Hash, key []byte, counter uint64) []byte {
	m := hmac.New(h, key)
	m.Write(binary.BigEndian.AppendUint64(nil, counter))
	return m.Sum(nil)
}

// checkHMAC compares every HMAC implementation this CPU runs with
// crypto/hmac for one key and counter.
func checkHMAC(t interface{ Fatalf(string, ...any) }, key []byte, counter uint64) {
	want256 := cryptoHMAC(sha256.New, key, counter)
	pads256 := Pads256(key)
	var h256 [8]uint32
	HMACCounterGeneric256(&pads256, counter, &h256)
	if got := words32(h256[:]); !bytes.Equal(got, want256) {
		t.Fatalf("generic SHA256: counter %d: %x, crypto/hmac %x", counter, got, want256)
	}
	if HasSHANI() {
		h256 = [8]uint32{}
		HMACCounter256(&pads256, counter, &h256)
		if got := words32(h256[:]); !bytes.Equal(got, want256) {
			t.Fatalf("shani SHA256: counter %d: %x, crypto/hmac %x", counter, got, want256)
		}
	}
	want512 := cryptoHMAC(sha512.New, key, counter)
	pads512 := Pads512(key)
	var h512 [8]uint64
	HMACCounterGeneric512(&pads512, counter, &h512)
	var got []byte
	for _, v := range h512 {
		got = binary.BigEndian.AppendUint64(got, v)
	}
	if !bytes.Equal(got, want512) {
		t.Fatalf("generic SHA512: counter %d: %x, crypto/hmac %x", counter, got, want512)
	}
}

func words32(h []uint32) []byte {
	var b []byte
	for _, v := range h {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func TestHMACAgreesWithCrypto(t *testing.T) {
	if !HasSHANI() {
		t.Log("SHA-NI not available here: only the generic functions are tested")
	}
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "key")
		counter := rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 1000),
			rapid.Uint64Range(math.MaxUint32-3, math.MaxUint32+3),
			rapid.Uint64Range(math.MaxUint64-3, math.MaxUint64)).Draw(t, "counter")
		checkHMAC(t, key, counter)
	})
}

// TestCatchesWrongConstant checks that the comparison can fail: one round
// constant off by one changes the digest.
func TestCatchesWrongConstant(t *testing.T) {
	want := sha256.Sum256([]byte("abc"))
	k256[63]++
	defer func() { k256[63]-- }()
	if bytes.Equal(sum256([]byte("abc")), want[:]) {
		t.Fatal("a wrong round constant went unnoticed")
	}
	if HasSHANI() {
		pads := Pads256([]byte("k"))
		var h [8]uint32
		HMACCounter256(&pads, 0, &h)
		k256[63]--
		if bytes.Equal(words32(h[:]), cryptoHMAC(sha256.New, []byte("k"), 0)) {
			t.Fatal("a wrong round constant went unnoticed by the assembly")
		}
		k256[63]++
	}
}

func FuzzHMACCounter(f *testing.F) {
	f.Add([]byte("12345678901234567890123456789012"), uint64(0))
	f.Add([]byte{}, uint64(math.MaxUint64))
	f.Add(make([]byte, 129), uint64(math.MaxUint32))
	f.Fuzz(func(t *testing.T, key []byte, counter uint64) {
		checkHMAC(t, key, counter)
	})
}

func BenchmarkHMAC(b *testing.B) {
	key := []byte("12345678901234567890123456789012")
	p256 := Pads256(key)
	p512 := Pads512(key)
	var o256 [8]uint32
	var o512 [8]uint64
	b.Run("sha256/generic", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			HMACCounterGeneric256(&p256, uint64(i), &o256)
		}
	})
	if HasSHANI() {
		b.Run("sha256/shani", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				HMACCounter256(&p256, uint64(i), &o256)
			}
		})
	}
	b.Run("sha512/generic", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			HMACCounterGeneric512(&p512, uint64(i), &o512)
		}
	})
	for _, c := range []struct {
		name string
		h    func() hash.Hash
	}{{"sha256/crypto-hmac", sha256.New}, {"sha512/crypto-hmac", sha512.New}} {
		b.Run(c.name, func(b *testing.B) {
			m := hmac.New(c.h, key)
			var msg [8]byte
			var sum [64]byte
			for i := 0; b.Loop(); i++ {
				binary.BigEndian.PutUint64(msg[:], uint64(i))
				m.Reset()
				m.Write(msg[:])
				m.Sum(sum[:0])
			}
		})
	}
}

package token

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/token/internal/sha1block"
)

// paths lists the SHA1 engines this CPU can run, by the shani flag given to
// newKey: the portable fallback always, SHA-NI where the CPU has it.
func paths(t interface{ Logf(string, ...any) }) map[string]bool {
	m := map[string]bool{"fallback": false}
	if sha1block.HasSHANI() {
		m["shani"] = true
	} else {
		t.Logf("SHA-NI not available here: only the fallback is tested")
	}
	return m
}

// hmacRef is the code computed the plain way: crypto/hmac over the 8-byte
// counter, dynamic truncation, reduction.
func hmacRef(secret []byte, alg Algorithm, digits int, counter uint64) (sum []byte, trunc, value uint32) {
	m := hmac.New(alg.New, secret)
	m.Write(binary.BigEndian.AppendUint64(nil, counter))
	sum = m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	trunc = binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return sum, trunc, uint32(uint64(trunc) % pow10[digits])
}

func pquernaAlgorithm(a Algorithm) otp.Algorithm {
	switch a {
	case SHA256:
		return otp.AlgorithmSHA256
	case SHA512:
		return otp.AlgorithmSHA512
	}
	return otp.AlgorithmSHA1
}

// checkEngine compares one key's HMAC, truncation, value and code with
// crypto/hmac and pquerna/otp.
func checkEngine(t interface{ Fatalf(string, ...any) }, k *Key, counter uint64) {
	sum, trunc, value := hmacRef(k.secret, k.alg, k.digits, counter)
	if got := k.AppendHMAC(nil, counter); string(got) != string(sum) {
		t.Fatalf("counter %d: HMAC %x, crypto/hmac %x", counter, got, sum)
	}
	if got := k.Truncated(counter); got != trunc {
		t.Fatalf("counter %d: truncated %d, want %d", counter, got, trunc)
	}
	if got := k.Value(counter); got != value {
		t.Fatalf("counter %d: value %d, want %d", counter, got, value)
	}
	want, err := hotp.GenerateCodeCustom(EncodeBase32(k.secret), counter, hotp.ValidateOpts{
		Digits: otp.Digits(k.digits), Algorithm: pquernaAlgorithm(k.alg)})
	if err != nil {
		t.Fatalf("pquerna: %v", err)
	}
	if got := k.HOTP(counter); got != want {
		t.Fatalf("counter %d: code %s, pquerna %s", counter, got, want)
	}
}

func drawCounter(t *rapid.T) uint64 {
	return rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 1000),
		rapid.Uint64Range(math.MaxUint32-5, math.MaxUint32+5),
		rapid.Uint64Range(math.MaxUint64-5, math.MaxUint64)).Draw(t, "counter")
}

// TestEnginePathsAgree runs both SHA1 paths (and the SHA256 and SHA512
// keys) against crypto/hmac and pquerna/otp on random keys, counters,
// digits and algorithms. Secrets reach 200 bytes, past the block sizes, so
// the hashed-key case of HMAC is covered.
func TestEnginePathsAgree(t *testing.T) {
	for name, shani := range paths(t) {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				secret := rapid.SliceOfN(rapid.Byte(), 1, 200).Draw(t, "secret")
				alg := rapid.SampledFrom(Algorithms()).Draw(t, "alg")
				digits := rapid.IntRange(MinDigits, MaxDigits).Draw(t, "digits")
				k, err := newKey(secret, alg, digits, shani)
				if err != nil {
					t.Fatal(err)
				}
				counter := drawCounter(t)
				checkEngine(t, k, counter)
				if k.mac != nil {
					// Another goroutine holds crypto/hmac: portable Go.
					k.mac.mu.Lock()
					checkEngine(t, k, counter)
					k.mac.mu.Unlock()
				}
			})
		})
	}
}

// TestFallbackIsForced checks that newKey(..., false) really takes the
// portable path, so the tests above exercise it: a key whose pad states
// are spoiled gives wrong codes on the path that reads them.
func TestFallbackIsForced(t *testing.T) {
	for name, shani := range paths(t) {
		for _, alg := range Algorithms() {
			k, err := newKey([]byte("12345678901234567890"), alg, 6, shani)
			if err != nil {
				t.Fatal(err)
			}
			if k.shani != shani {
				t.Fatalf("%s %s: key has shani=%v", name, alg, k.shani)
			}
			if wantMAC := alg == SHA512 || alg == SHA256 && !shani; (k.mac != nil) != wantMAC {
				t.Fatalf("%s %s: crypto/hmac state present: %v", name, alg, k.mac != nil)
			}
			_, _, value := hmacRef(k.secret, alg, 6, 0)
			if got := k.Value(0); got != value {
				t.Fatalf("%s %s: value %d, want %d", name, alg, got, value)
			}
			k.pads1[1][0]++
			k.pads256[1][0]++
			k.pads512[1][0]++
			if k.mac != nil {
				// crypto/hmac does not read the pad states; the
				// portable path, taken while it is busy, does.
				if got := k.Value(0); got != value {
					t.Fatalf("%s %s: value %d, want %d", name, alg, got, value)
				}
				k.mac.mu.Lock()
				defer k.mac.mu.Unlock()
			}
			if got := k.Value(0); got == value {
				t.Fatalf("%s %s: spoiled pad states still gave the right code", name, alg)
			}
		}
	}
}

// TestFindPathsAgree compares FindValue on both paths with a linear scan by
// Value, on windows that start anywhere (near the last counter too) and
// hold 1, 2, 3 or more counters, with codes inside and outside the window.
func TestFindPathsAgree(t *testing.T) {
	for name, shani := range paths(t) {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				secret := rapid.SliceOfN(rapid.Byte(), 1, 40).Draw(t, "secret")
				k, _ := newKey(secret, SHA1, 6, shani)
				from := rapid.OneOf(rapid.Uint64Range(0, 1<<40),
					rapid.Uint64Range(math.MaxUint64-40, math.MaxUint64)).Draw(t, "from")
				n := rapid.Uint64Range(0, 30).Draw(t, "n")
				want := k.Value(from + rapid.Uint64Range(0, n+3).Draw(t, "offset"))
				got, ok := k.FindValue(want, from, n)
				last := from + n
				if last < from {
					last = math.MaxUint64
				}
				for c := from; ; c++ {
					if k.Value(c) == want {
						if !ok || got != c {
							t.Fatalf("first match at %d, FindValue says %d %v", c, got, ok)
						}
						return
					}
					if c == last {
						break
					}
				}
				if ok {
					t.Fatalf("no match in [%d, %d], FindValue says %d", from, last, got)
				}
			})
		})
	}
}

// TestKeyConcurrent uses one key of each algorithm from several goroutines
// at once (run it with -race): keys hold no scratch state.
func TestKeyConcurrent(t *testing.T) {
	secret := []byte("12345678901234567890")
	for name, shani := range paths(t) {
		for _, alg := range Algorithms() {
			k, _ := newKey(secret, alg, 8, shani)
			var want [10]uint32
			for c := range want {
				_, _, want[c] = hmacRef(secret, alg, 8, uint64(c))
			}
			done := make(chan error, 4)
			for g := 0; g < 4; g++ {
				go func() {
					for i := 0; i < 200; i++ {
						c := uint64(i % 10)
						if got := k.Value(c); got != want[c] {
							done <- fmt.Errorf("%s %s: counter %d: %d", name, alg, c, got)
							return
						}
						if got, ok := k.FindValue(want[c], c, 9-c); !ok || got != c {
							done <- fmt.Errorf("%s %s: find %d: %d %v", name, alg, c, got, ok)
							return
						}
					}
					done <- nil
				}()
			}
			for g := 0; g < 4; g++ {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func FuzzEnginePathsAgree(f *testing.F) {
	f.Add([]byte("12345678901234567890"), uint64(0), uint8(0), uint8(0))
	f.Add([]byte("12345678901234567890123456789012"), uint64(math.MaxUint64), uint8(1), uint8(4))
	f.Add(make([]byte, 129), uint64(math.MaxUint32), uint8(2), uint8(2))
	f.Fuzz(func(t *testing.T, secret []byte, counter uint64, algIndex, digitIndex uint8) {
		if len(secret) == 0 {
			return
		}
		alg := Algorithms()[int(algIndex)%len(Algorithms())]
		digits := MinDigits + int(digitIndex)%(MaxDigits-MinDigits+1)
		for _, shani := range paths(t) {
			k, err := newKey(secret, alg, digits, shani)
			if err != nil {
				t.Fatal(err)
			}
			checkEngine(t, k, counter)
			if k.mac != nil {
				k.mac.mu.Lock()
				checkEngine(t, k, counter)
				k.mac.mu.Unlock()
			}
		}
	})
}

// BenchmarkEngine times generation and a 1001-step look-ahead on each SHA1
// path this CPU runs, the fallback forced as on a CPU without SHA-NI.
func BenchmarkEngine(b *testing.B) {
	secret := []byte("12345678901234567890")
	for name, shani := range paths(b) {
		k, _ := newKey(secret, SHA1, 6, shani)
		b.Run(name+"/generate", func(b *testing.B) {
			buf := make([]byte, 0, MaxDigits)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				buf = k.AppendHOTP(buf[:0], uint64(i))
			}
		})
		b.Run(name+"/lookahead", func(b *testing.B) {
			want := k.Value(1000)
			b.ReportAllocs()
			for b.Loop() {
				k.FindValue(want, 0, 1000)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1001, "ns/step")
		})
	}
}

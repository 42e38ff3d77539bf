package token_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/otplab/otplab/token"
)

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"3132", "abc", "zz", "", "31 32\n33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := token.ParseHex(s)
		if err != nil {
			if !errors.Is(err, token.ErrSecret) {
				t.Fatalf("error %v does not wrap ErrSecret", err)
			}
			return
		}
		if len(b) == 0 {
			t.Fatal("accepted an empty secret")
		}
	})
}

func FuzzParseBase32(f *testing.F) {
	for _, s := range []string{"GEZDGNBV", "mzxw6===", "M", "", "MZ1W6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := token.ParseBase32(s)
		if err != nil {
			if !errors.Is(err, token.ErrSecret) {
				t.Fatalf("error %v does not wrap ErrSecret", err)
			}
			return
		}
		// Whatever was accepted must survive a round trip.
		again, err := token.ParseBase32(token.EncodeBase32(b))
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip of %x failed: %v", b, err)
		}
	})
}

func FuzzParseSerial(f *testing.F) {
	for _, s := range []string{"1000000000001", "100000000000", "2000000000001", "１000000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := token.ParseSerial(s, token.ModelC100)
		if err != nil {
			if !errors.Is(err, token.ErrSerial) {
				t.Fatalf("error %v does not wrap ErrSerial", err)
			}
			return
		}
		if len(got) != token.SerialLen || got[0] != '1' {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"755224", "012345", "+12345", "١٢٣٤٥٦", ""} {
		f.Add(s, 6)
	}
	f.Fuzz(func(t *testing.T, s string, digits int) {
		v, ok := token.ParseCode(s, digits)
		if !ok {
			return
		}
		if len(s) != digits {
			t.Fatalf("accepted %q with %d digits", s, digits)
		}
		for _, c := range []byte(s) {
			if c < '0' || c > '9' {
				t.Fatalf("accepted non-digit in %q", s)
			}
		}
		if string(appendPadded(v, digits)) != s {
			t.Fatalf("value %d does not print back as %q", v, s)
		}
	})
}

func appendPadded(v uint32, digits int) []byte {
	b := make([]byte, digits)
	for i := digits - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

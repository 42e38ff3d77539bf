package otpauth_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/otplab/otplab/token/otpauth"
)

// FuzzParse: Parse never panics, errors wrap ErrURI, and whatever it
// accepts builds a URI that parses to the same key.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"otpauth://hotp/otplab:1000000000001?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=otplab&counter=0",
		"otpauth://totp/ACME%20Co:jos%C3%A9?secret=mzxw6&period=60&digits=8&algorithm=sha256",
		"otpauth://totp/a?secret=GE&issuer=x+y",
		"otpauth://hotp/a:b:c?secret=GE&counter=18446744073709551615",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := otpauth.Parse(s)
		if err != nil {
			if !errors.Is(err, otpauth.ErrURI) {
				t.Fatalf("error %v does not wrap ErrURI", err)
			}
			return
		}
		u, err := k.URI()
		if err != nil {
			t.Fatalf("parsed key %+v does not build: %v", k, err)
		}
		back, err := otpauth.Parse(u)
		if err != nil {
			t.Fatalf("built %q does not parse: %v", u, err)
		}
		if d := cmp.Diff(k, back); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}

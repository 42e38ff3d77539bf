package pskc_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/otplab/otplab/token/pskc"
	"github.com/otplab/otplab/vectors"
)

var sentinels = []error{
	pskc.ErrFormat, pskc.ErrTruncated, pskc.ErrTooLarge, pskc.ErrDoctype, pskc.ErrAlgorithm,
	pskc.ErrValue, pskc.ErrNeedKey, pskc.ErrWrongKey, pskc.ErrMAC,
}

// FuzzDecode feeds arbitrary bytes to the reader: it must not panic, every
// error must wrap a sentinel and fit on one line, and whatever it accepts
// must survive a write and a read back unchanged.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"figure6.pskcxml", "figure7.pskcxml", "hotp-minimal.pskcxml", "totp-minimal.pskcxml"} {
		b, err := vectors.PSKC(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, psk bool) {
		opts := pskc.Options{Password: "qwerty", MaxElementBytes: 16 << 10, MaxIterations: 5000}
		if psk {
			opts = pskc.Options{Key: figure6Key, MaxElementBytes: 16 << 10}
		}
		_, ps, err := pskc.ReadAll(bytes.NewReader(data), opts)
		if err != nil {
			ok := false
			for _, s := range sentinels {
				ok = ok || errors.Is(err, s)
			}
			if !ok {
				t.Fatalf("error %q wraps no sentinel", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q spans lines", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := pskc.Write(&buf, pskc.EncodeOptions{}, ps); err != nil {
			// Text XML cannot carry (control characters decoded from
			// character references) is refused on write; nothing else.
			if !errors.Is(err, pskc.ErrValue) {
				t.Fatalf("write of accepted packages: %v", err)
			}
			return
		}
		_, back, err := pskc.ReadAll(&buf, pskc.Options{})
		if err != nil {
			t.Fatalf("read back: %v\n%s", err, buf.Bytes())
		}
		if d := cmp.Diff(ps, back); d != "" {
			t.Fatalf("round trip (-read +reread):\n%s", d)
		}
	})
}

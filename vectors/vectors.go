// Package vectors holds the published test vectors of RFC 4226 (HOTP),
// RFC 6238 (TOTP) and RFC 6030 (PSKC) as embedded data files, with a small
// loader. The data files are the source of truth; this package only parses
// them, so a typo in a vector is visible in the data, not hidden in code.
package vectors

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

//go:embed data
var data embed.FS

// HOTP is one row of RFC 4226 Appendix D.
type HOTP struct {
	// Secret is the shared secret (ASCII "12345678901234567890").
	Secret []byte
	// Counter is the moving factor.
	Counter uint64
	// HMAC is HMAC-SHA-1(Secret, Counter) in lower-case hex.
	HMAC string
	// Truncated is the 31-bit value of dynamic truncation.
	Truncated uint32
	// Code is the 6-digit HOTP value.
	Code string
}

// TOTP is one row of RFC 6238 Appendix B (T0 = 0, 30 s step, 8 digits).
type TOTP struct {
	// Time is the Unix time in seconds.
	Time int64
	// Step is the time step T.
	Step uint64
	// Algorithm is "SHA1", "SHA256" or "SHA512".
	Algorithm string
	// Secret is the seed the RFC uses for the algorithm.
	Secret []byte
	// Code is the 8-digit TOTP value.
	Code string
}

// RFC 6238 test parameters.
const (
	TOTPPeriod = 30
	TOTPT0     = 0
	TOTPDigits = 8
)

// RFC4226Secret is the secret of RFC 4226 Appendix D.
func RFC4226Secret() []byte { return []byte("12345678901234567890") }

// RFC6238Secret returns the seed RFC 6238 Appendix B uses for alg: the
// digits "1234567890" repeated to the digest length (20, 32 or 64 bytes).
// It returns nil for an unknown algorithm.
func RFC6238Secret(alg string) []byte {
	n := map[string]int{"SHA1": 20, "SHA256": 32, "SHA512": 64}[alg]
	if n == 0 {
		return nil
	}
	return []byte(strings.Repeat("1234567890", 7)[:n])
}

// RFC4226 returns the ten rows of RFC 4226 Appendix D.
func RFC4226() ([]HOTP, error) {
	var out []HOTP
	err := rows("data/rfc4226.csv", 5, func(f []string) error {
		c, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return err
		}
		tr, err := strconv.ParseUint(f[3], 10, 32)
		if err != nil {
			return err
		}
		hx, err := strconv.ParseUint(f[2], 16, 32)
		if err != nil {
			return err
		}
		if hx != tr {
			return fmt.Errorf("truncated hex %s and decimal %s differ", f[2], f[3])
		}
		out = append(out, HOTP{Secret: RFC4226Secret(), Counter: c, HMAC: f[1], Truncated: uint32(tr), Code: f[4]})
		return nil
	})
	return out, err
}

// RFC6238 returns the eighteen rows of RFC 6238 Appendix B.
func RFC6238() ([]TOTP, error) {
	var out []TOTP
	err := rows("data/rfc6238.csv", 4, func(f []string) error {
		t, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return err
		}
		s, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			return err
		}
		sec := RFC6238Secret(f[2])
		if sec == nil {
			return fmt.Errorf("unknown algorithm %q", f[2])
		}
		out = append(out, TOTP{Time: t, Step: s, Algorithm: f[2], Secret: sec, Code: f[3]})
		return nil
	})
	return out, err
}

// PSKC returns the named RFC 6030 example file: "figure6.pskcxml",
// "figure7.pskcxml", "hotp-minimal.pskcxml" or "totp-minimal.pskcxml".
func PSKC(name string) ([]byte, error) {
	b, err := fs.ReadFile(data, "data/rfc6030/"+name)
	if err != nil {
		return nil, fmt.Errorf("vectors: pskc %q: %w", name, err)
	}
	return b, nil
}

// rows calls fn for every non-comment line of a CSV data file, checking
// the field count.
func rows(name string, fields int, fn func([]string) error) error {
	b, err := fs.ReadFile(data, name)
	if err != nil {
		return fmt.Errorf("vectors: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != fields {
			return fmt.Errorf("vectors: %s line %d: %d fields, want %d", name, n, len(f), fields)
		}
		if err := fn(f); err != nil {
			return fmt.Errorf("vectors: %s line %d: %w", name, n, err)
		}
	}
	return sc.Err()
}

package main

import (
	"crypto/rand"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listing returns every name under the current directory.
func listing(t *testing.T) []string {
	var out []string
	es, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range es {
		out = append(out, e.Name())
		if e.IsDir() {
			sub, _ := os.ReadDir(e.Name())
			for _, s := range sub {
				out = append(out, e.Name()+"/"+s.Name())
			}
		}
	}
	sort.Strings(out)
	return out
}

func edit(t *testing.T, name, old, new string) {
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	require.Contains(t, string(b), old)
	require.NoError(t, os.WriteFile(name, []byte(strings.Replace(string(b), old, new, 1)), 0o600))
}

// TestBadInput: each bad input gets a one-line error naming the file and
// the problem, exit code 2, and leaves no file behind. Secrets given on
// the command line never appear in the error.
func TestBadInput(t *testing.T) {
	inTemp(t)
	for _, v := range []string{"figure6.pskcxml", "figure7.pskcxml", "hotp-minimal.pskcxml"} {
		writeVector(t, v)
	}
	ok(t, "new", "--secret", rfcSecretHex, "--serial", "1000000000001", "--out", "t.json")
	for name, mod := range map[string][2]string{
		"mac.pskc":       {"Su+NvtQfmvfJzF6bmQiJqoLRExc=", "Tu+NvtQfmvfJzF6bmQiJqoLRExc="},
		"alg.pskc":       {"pskc:hotp", "pskc:ocra"},
		"doctype.pskc":   {"<KeyContainer", "<!DOCTYPE KeyContainer [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<KeyContainer"},
		"truncated.pskc": {"</KeyContainer>", ""},
		"feitian9.pskc":  {"<SerialNo>1000000000001", "<SerialNo>100000001"},
	} {
		src := "figure6.pskcxml"
		if name != "mac.pskc" {
			src = "hotp-minimal.pskcxml"
		}
		b, _ := os.ReadFile(src)
		require.NoError(t, os.WriteFile(name, b, 0o600))
		edit(t, name, mod[0], mod[1])
	}
	require.NoError(t, os.WriteFile("nonsense.json", []byte(`{"version":1,"model":"c100","serial":"1000000000001","algorithm":"SHA1","digits":6,"secret":"`+rfcSecretHex+`","counter":"many"}`), 0o600))
	require.NoError(t, os.WriteFile("future.json", []byte(`{"version":2}`), 0o600))
	require.NoError(t, os.WriteFile("wrongcode.json", []byte(`{"version":1,"model":"c100","serial":"1000000000001","algorithm":"SHA1","digits":6,"secret":"`+rfcSecretHex+`","counter":1,"shown":{"at":"2026-11-23T09:00:00Z","until":"2026-11-23T09:00:10Z","counter":0,"code":"123456","advanced":true}}`), 0o600))

	ok(t, "new", "--model", "c200", "--t0", "100", "--out", "t0.json")
	require.NoError(t, os.Mkdir("d", 0o700))
	require.NoError(t, os.WriteFile("d/1000000000001.json", []byte("{}"), 0o600))
	before := listing(t)
	for _, tc := range []struct {
		name  string
		args  []string
		wants []string // in the error line
	}{
		{"wrong password", []string{"import", "figure7.pskcxml", "--password", "hunter2", "--dir", "out"}, []string{"figure7.pskcxml", "wrong password or key"}},
		{"no password", []string{"import", "figure7.pskcxml", "--dir", "out"}, []string{"figure7.pskcxml", "give the password"}},
		{"wrong key", []string{"import", "figure6.pskcxml", "--key", "000102030405060708090a0b0c0d0e0f", "--dir", "out"}, []string{"figure6.pskcxml", "wrong password or key"}},
		{"short key", []string{"import", "figure6.pskcxml", "--key", "0001", "--dir", "out"}, []string{"--key", "2 bytes"}},
		{"valuemac", []string{"import", "mac.pskc", "--key", "12345678901234567890123456789012", "--dir", "out"}, []string{"mac.pskc", "valuemac mismatch"}},
		{"unknown algorithm", []string{"import", "alg.pskc", "--dir", "out"}, []string{"alg.pskc", "unsupported algorithm", "pskc:ocra"}},
		{"doctype", []string{"import", "doctype.pskc", "--dir", "out"}, []string{"doctype.pskc", "doctype not allowed"}},
		{"truncated", []string{"import", "truncated.pskc", "--dir", "out"}, []string{"truncated.pskc", "truncated"}},
		{"oversized", []string{"import", "hotp-minimal.pskcxml", "--dir", "out", "--max-size", "200"}, []string{"hotp-minimal.pskcxml", "too large"}},
		{"feitian short serial", []string{"import", "feitian9.pskc", "--dir", "out"}, []string{"feitian9.pskc", "100000001", "has 9 digits, want 13"}},
		{"missing file", []string{"import", "nothere.pskc", "--dir", "out"}, []string{"nothere.pskc"}},
		{"serial length", []string{"new", "--serial", "123", "--out", "n.json"}, []string{"--serial", "\"123\"", "want 13 digits"}},
		{"c200 serial on c100", []string{"new", "--serial", "2000000000001", "--out", "n.json"}, []string{"--serial", "start with 1"}},
		{"bad secret", []string{"new", "--secret", "xyz", "--out", "n.json"}, []string{"--secret", "hex"}},
		{"bad model", []string{"new", "--model", "c300", "--out", "n.json"}, []string{"--model", "c300"}},
		{"flag for another model", []string{"new", "--model", "c200", "--counter", "5", "--out", "n.json"}, []string{"--counter", "does not apply"}},
		{"no out", []string{"new"}, []string{"--out"}},
		{"unknown flag", []string{"new", "--colour", "red", "--out", "n.json"}, []string{"unknown flag", "--colour"}},
		{"unknown command", []string{"frobnicate"}, []string{"unknown command", "frobnicate"}},
		{"nonsense state", []string{"press", "nonsense.json"}, []string{"nonsense.json", "invalid state file", "counter"}},
		{"future state", []string{"codes", "future.json"}, []string{"future.json", "unsupported version 2"}},
		{"inconsistent state", []string{"show", "wrongcode.json"}, []string{"wrongcode.json", "shown.code"}},
		{"not a state file", []string{"codes", "figure6.pskcxml"}, []string{"figure6.pskcxml", "not JSON"}},
		{"drift spec", []string{"fleet", "--count", "3", "--drift", "uniform:9-1", "--pskc", "f.pskc", "--manifest", "f.csv"}, []string{"--drift", "uniform:9-1"}},
		{"negative presses", []string{"fleet", "--count", "3", "--drift", "fixed:-2", "--pskc", "f.pskc", "--manifest", "f.csv"}, []string{"behind the server"}},
		{"fleet over existing", []string{"fleet", "--count", "3", "--pskc", "f.pskc", "--manifest", "t.json"}, []string{"t.json", "already exists"}},
		{"fleet dir collision", []string{"fleet", "--count", "1", "--first-serial", "1000000000001", "--pskc", "f.pskc", "--manifest", "f.csv", "--dir", "d"}, []string{"d/1000000000001.json", "already exists"}},
		{"presses on time token", []string{"drift", "t.json", "--offset", "3s"}, []string{"--offset", "does not apply"}},
		{"bad --at", []string{"press", "t.json", "--at", "tomorrow"}, []string{"--at", "tomorrow"}},
		{"bad --from", []string{"codes", "t.json", "--from", "-1"}, []string{"--from", "-1"}},
		{"bad format", []string{"codes", "t.json", "--format", "xml"}, []string{"--format", "xml"}},
		{"pskc flag with uri", []string{"export", "t.json", "--format", "uri", "--password", "x"}, []string{"--password", "does not apply"}},
		{"t0 in uri", []string{"export", "t0.json", "--format", "uri"}, []string{"t0.json", "cannot carry a t0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tokensim(tc.args...)
			assert.Equal(t, 2, r.code, "stderr: %s", r.err)
			assert.Empty(t, r.out)
			errLines := strings.Split(strings.TrimSuffix(r.err, "\n"), "\n")
			require.Len(t, errLines, 1, "one line: %q", r.err)
			assert.True(t, strings.HasPrefix(errLines[0], "tokensim: "), errLines[0])
			for _, w := range tc.wants {
				assert.Contains(t, errLines[0], w)
			}
			for _, secret := range []string{"hunter2", "000102030405060708090a0b0c0d0e0f", "12345678901234567890123456789012", rfcSecretHex, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"} {
				assert.NotContains(t, r.err, secret, "the error shows a secret")
			}
			assert.Equal(t, before, listing(t), "no file left behind")
		})
	}
	// The files that were there are untouched.
	assert.Equal(t, rfcHOTP[:1], lines(ok(t, "codes", "t.json", "--count", "1")))
}

// TestCodesConstantMemory: a long stream allocates next to nothing per
// code, so --count 10000000 runs in constant memory.
func TestCodesConstantMemory(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--secret", rfcSecretHex, "--out", "t.json")
	measure := func(count string) uint64 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		e := env{now: func() time.Time { return t0 }, rand: rand.Reader}
		code := run(e, []string{"codes", "t.json", "--count", count, "--format", "csv"}, io.Discard, io.Discard)
		runtime.ReadMemStats(&m1)
		require.Equal(t, 0, code)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	small, large := measure("10"), measure("300000")
	assert.Less(t, large, small+64<<10, "300,000 codes allocate %d bytes more than ten", large-small)
}

package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
	"github.com/otplab/otplab/vectors"
)

// TestMain lets tests run tokensim as separate processes: the test binary
// re-executed with TOKENSIM_MAIN=1 is tokensim.
func TestMain(m *testing.M) {
	if os.Getenv("TOKENSIM_MAIN") == "1" {
		hold, _ := time.ParseDuration(os.Getenv("TOKENSIM_HOLD"))
		os.Exit(run(env{now: time.Now, rand: rand.Reader, hold: hold}, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const rfcSecretHex = "3132333435363738393031323334353637383930"

var (
	t0      = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	rfcHOTP = []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
)

// result is what one run of tokensim produced.
type result struct {
	out, err string
	code     int
}

// tokensim runs a command line in-process, in the current directory, with
// the clock stopped at t0.
func tokensim(args ...string) result {
	var out, errb bytes.Buffer
	code := run(env{now: func() time.Time { return t0 }, rand: rand.Reader}, args, &out, &errb)
	return result{out.String(), errb.String(), code}
}

// ok runs a command line that must succeed and returns its output.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := tokensim(args...)
	require.Equal(t, 0, r.code, "tokensim %s: %s", strings.Join(args, " "), r.err)
	return r.out
}

// inTemp moves the test into a fresh directory.
func inTemp(t *testing.T) string {
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

func writeVector(t *testing.T, name string) {
	b, err := vectors.PSKC(name)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(name, b, 0o600))
}

func lines(s string) []string { return strings.Fields(s) }

func TestRFC4226Codes(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--model", "c100", "--secret", rfcSecretHex, "--out", "t.json")
	assert.Equal(t, rfcHOTP, lines(ok(t, "codes", "t.json", "--count", "10")))
	assert.Equal(t, "counter,code\n8,399871\n9,520489\n", ok(t, "codes", "t.json", "--from", "8", "--count", "2", "--format", "csv"))
	assert.Equal(t, `{"counter":0,"code":"755224"}`+"\n", ok(t, "codes", "t.json", "--count", "1", "--format", "json"))
	assert.Equal(t, "", ok(t, "codes", "t.json", "--count", "0"))

	st, err := os.Stat("t.json")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// new refuses to overwrite, unless forced.
	r := tokensim("new", "--model", "c100", "--out", "t.json")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.err, "t.json: file already exists")
	assert.Equal(t, rfcHOTP[:1], lines(ok(t, "codes", "t.json", "--count", "1")))
	ok(t, "new", "--model", "c100", "--out", "t.json", "--force")
	assert.NotEqual(t, rfcHOTP[:1], lines(ok(t, "codes", "t.json", "--count", "1")), "a random secret")
}

func TestSeededNewIsReproducible(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--seed", "s1", "--out", "a.json")
	ok(t, "new", "--seed", "s1", "--out", "b.json")
	ok(t, "new", "--seed", "s2", "--out", "c.json")
	a, _ := os.ReadFile("a.json")
	b, _ := os.ReadFile("b.json")
	c, _ := os.ReadFile("c.json")
	assert.Equal(t, string(a), string(b))
	assert.NotEqual(t, string(a), string(c))
}

func TestPressLikeAPerson(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--secret", rfcSecretHex, "--serial", "1000000000001", "--out", "t.json")
	at := func(s int) string { return t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339) }
	assert.Equal(t, "755224\n", ok(t, "press", "t.json", "--at", at(0)))
	r := tokensim("press", "t.json", "--at", at(5))
	assert.Equal(t, "755224\n", r.out, "a press while the display is on shows the same code")
	assert.Contains(t, r.err, "display still on")
	// -n: every press once the display is off, the first one too.
	assert.Equal(t, []string{"287082", "359152"}, lines(ok(t, "press", "t.json", "-n", "2", "--at", at(6))))
	assert.Equal(t, "969429\n", ok(t, "press", "t.json", "--at", at(100)))

	show := ok(t, "show", "t.json", "--at", at(101))
	assert.Contains(t, show, "counter:          4 (next press shows 338314)")
	assert.Contains(t, show, "showing 969429 (counter 3)")
	assert.NotContains(t, show, rfcSecretHex)
	assert.Contains(t, ok(t, "show", "t.json", "--reveal-secret"), rfcSecretHex)

	ok(t, "drift", "t.json", "--presses", "37")
	assert.Contains(t, ok(t, "show", "t.json"), "counter:          41")
	assert.Equal(t, "otpauth://hotp/otplab:1000000000001?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=otplab&algorithm=SHA1&digits=6&counter=41\n",
		ok(t, "export", "t.json", "--format", "uri"))

	// The exported PSKC reads back as the same device.
	ok(t, "export", "t.json", "--format", "pskc", "--password", "pw", "--iterations", "1000", "--out", "t.pskc")
	ok(t, "import", "t.pskc", "--password", "pw", "--dir", "back")
	assert.Equal(t, []string{"287922", "162583"}, lines(ok(t, "codes", "back/1000000000001.json", "--count", "2", "--from", "6")))
	assert.Contains(t, ok(t, "show", "back/1000000000001.json"), "counter:          41")
}

// TestParallelPress runs tokensim press in several processes at once on
// one file. Every code of counters 0..N-1 is printed exactly once (the
// processes never show a code twice and never lose a press), and the file
// ends at counter N. Each process holds the lock for 20 ms, so that
// without the lock they would read the same state and print the same
// codes.
func TestParallelPress(t *testing.T) {
	inTemp(t)
	ok(t, "new", "--secret", rfcSecretHex, "--digits", "8", "--out", "t.json")
	const procs, rounds, n = 3, 2, 8
	var (
		mu      sync.Mutex
		printed []string
		wg      sync.WaitGroup
	)
	for range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				cmd := exec.Command(os.Args[0], "press", "t.json", "-n", strconv.Itoa(n))
				cmd.Env = append(os.Environ(), "TOKENSIM_MAIN=1", "TOKENSIM_HOLD=20ms")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if !assert.NoError(t, err, stderr.String()) {
					return
				}
				mu.Lock()
				printed = append(printed, lines(string(out))...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := procs * rounds * n
	k, err := token.NewKey(vectors.RFC4226Secret(), token.SHA1, 8)
	require.NoError(t, err)
	var want []string
	for c := range uint64(total) {
		want = append(want, k.HOTP(c))
	}
	sort.Strings(want)
	sort.Strings(printed)
	assert.Equal(t, want, printed)
	b, err := os.ReadFile("t.json")
	require.NoError(t, err)
	d, err := state.Unmarshal(b)
	require.NoError(t, err)
	assert.EqualValues(t, total, d.C100.Counter())
	entries, _ := os.ReadDir(".")
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestTimeToken(t *testing.T) {
	inTemp(t)
	sha256Seed := "3132333435363738393031323334353637383930313233343536373839303132"
	ok(t, "new", "--model", "app", "--algorithm", "SHA256", "--digits", "8", "--secret", sha256Seed, "--serial", "2000000000001", "--out", "app.json")
	assert.Equal(t, "46119246\n", ok(t, "codes", "app.json", "--from", "59", "--count", "1"))
	assert.Equal(t, "step,code,from,until\n1,46119246,1970-01-01T00:00:59Z,1970-01-01T00:01:00Z\n2,",
		ok(t, "codes", "app.json", "--from", "59", "--count", "2", "--format", "csv")[:76])
	assert.Equal(t, "46119246\n", ok(t, "press", "app.json", "--at", "59"))

	// A clock 30 s fast shows at true time 29 what it shows at 59.
	ok(t, "drift", "app.json", "--offset", "30s", "--at", "0")
	assert.Equal(t, "46119246\n", ok(t, "press", "app.json", "--at", "29"))
	assert.Contains(t, ok(t, "show", "app.json", "--at", "29"), "(30s ahead)")
	ok(t, "drift", "app.json", "--ppm", "100", "--at", "0")
	assert.Contains(t, ok(t, "show", "app.json", "--at", "10000"), "(31s ahead)")

	assert.Equal(t, "otpauth://totp/otplab:2000000000001?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA&issuer=otplab&algorithm=SHA256&digits=8&period=30\n",
		ok(t, "export", "app.json", "--format", "uri"))
}

func TestImportFigure7(t *testing.T) {
	inTemp(t)
	writeVector(t, "figure7.pskcxml")
	out := ok(t, "import", "figure7.pskcxml", "--password", "qwerty", "--dir", "devices")
	assert.Equal(t, "devices/1000987654321.json c100 1000987654321 (vendor serial 987654321)\n", out)
	assert.Equal(t, []string{"84755224", "94287082", "37359152"}, lines(ok(t, "codes", "devices/1000987654321.json", "--count", "3")))
	b, err := os.ReadFile("devices/1000987654321.json")
	require.NoError(t, err)
	d, err := state.Unmarshal(b)
	require.NoError(t, err)
	assert.Equal(t, "TokenVendorAcme", d.Manufacturer)
	assert.Equal(t, "987654321", d.VendorSerial)

	writeVector(t, "figure6.pskcxml")
	ok(t, "import", "figure6.pskcxml", "--key", "12345678901234567890123456789012", "--dir", "fig6")
	assert.Equal(t, []string{"84755224"}, lines(ok(t, "codes", "fig6/1000987654321.json", "--count", "1")))
}

func TestImportFeitian(t *testing.T) {
	inTemp(t)
	writeVector(t, "hotp-minimal.pskcxml")
	writeVector(t, "totp-minimal.pskcxml")
	assert.Equal(t, "d/1000000000001.json c100 1000000000001\n", ok(t, "import", "hotp-minimal.pskcxml", "--dir", "d"))
	assert.Equal(t, "d/2600000000001.json c200 2600000000001\n", ok(t, "import", "totp-minimal.pskcxml", "--dir", "d"))
	assert.Equal(t, rfcHOTP[:3], lines(ok(t, "codes", "d/1000000000001.json", "--count", "3")))
	assert.Equal(t, "755224\n", ok(t, "codes", "d/2600000000001.json", "--from", "59", "--count", "1"))
	assert.Equal(t, "360094\n", ok(t, "codes", "d/2600000000001.json", "--from", "1111111109", "--count", "1"))
}

package harness_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// mutant is a second, deliberately plain verifier written for these tests,
// with one optional bug switched on by name. With bug "" it is correct and
// must pass the suite like the reference; with a bug it must be caught.
// It computes codes with its own HMAC code, not with package token, so
// that truncation and hash bugs can be planted.
type mutant struct {
	bug string
	p   harness.Profile

	mu   sync.Mutex
	toks map[string]*mtok
}

type mtok struct {
	mu      sync.Mutex
	t       harness.Token
	next    uint64
	next32  uint32
	nextF   float64
	spent   bool
	fails   int
	locked  bool
	last    int64
	hasLast bool
}

func newMutant(bug string, p harness.Profile) *mutant {
	return &mutant{bug: bug, p: p, toks: map[string]*mtok{}}
}

func (m *mutant) Describe(context.Context) (harness.Info, error) {
	p := m.p
	return harness.Info{Name: "mutant " + m.bug, Profile: &p}, nil
}

func (m *mutant) Enroll(_ context.Context, t harness.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.toks[t.Serial] = &mtok{t: t, next: t.Counter, next32: uint32(t.Counter), nextF: float64(t.Counter)}
	return nil
}

func (m *mutant) get(serial string) *mtok {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.toks[serial]
}

// code computes a code the plain way, with the planted hash and
// truncation bugs.
func (m *mutant) code(t harness.Token, c uint64) string {
	digits := t.Digits
	if m.bug == "digits-8-as-6" {
		digits = 6
	}
	var h func() hash.Hash
	switch t.Algorithm {
	case token.SHA256:
		h = sha256.New
	case token.SHA512:
		h = sha512.New
	default:
		h = sha1.New
	}
	if m.bug == "sha256-as-sha1" {
		h = sha1.New
	}
	mac := hmac.New(h, t.Secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], c)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0xf
	if m.bug == "wrong-truncation" {
		off = sum[0] & 0xf
	}
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%0*d", digits, uint64(v)%uint64(math.Pow10(digits)))
}

// equal compares the typed code with the expected one, with the planted
// input-hygiene bugs.
func (m *mutant) equal(typed, want string) bool {
	switch m.bug {
	case "int-compare":
		a, err1 := strconv.Atoi(strings.TrimSpace(typed))
		b, _ := strconv.Atoi(want)
		return err1 == nil && a == b
	case "prefix-compare":
		return strings.HasPrefix(want, typed)
	case "unicode-fold":
		var b strings.Builder
		for _, r := range typed {
			if unicode.IsDigit(r) {
				b.WriteRune('0' + digitValue(r))
			} else {
				b.WriteRune(r)
			}
		}
		return hmac.Equal([]byte(b.String()), []byte(want))
	}
	return hmac.Equal([]byte(typed), []byte(want))
}

func digitValue(r rune) rune {
	for _, zero := range []rune{'0', '٠', '０', '۰', '०'} {
		if r >= zero && r <= zero+9 {
			return r - zero
		}
	}
	return 0
}

func (m *mutant) lookAhead() uint64 {
	l := *m.p.LookAhead
	switch m.bug {
	case "window-too-wide":
		l++
	case "window-too-narrow":
		l--
	}
	return l
}

// counter returns the stored next counter, through the planted storage
// bugs.
func (t *mtok) counter(bug string) uint64 {
	switch bug {
	case "counter-32bit":
		return uint64(t.next32)
	case "counter-float64":
		return uint64(t.nextF)
	}
	return t.next
}

func (t *mtok) setCounter(c uint64) {
	t.next, t.next32, t.nextF = c, uint32(c), float64(c)
}

func (m *mutant) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	t := m.get(req.Serial)
	if t == nil {
		return harness.Reply{}, nil
	}
	if m.bug == "race" && t.t.Kind == harness.HOTP {
		return m.checkRace(t, req.Code), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.locked && m.bug != "locked-accepts" {
		return harness.Reply{Locked: true}, nil
	}
	ok := false
	if t.t.Kind == harness.TOTP {
		ok = m.checkTOTP(t, req)
	} else {
		ok = m.checkHOTP(t, req.Code)
	}
	if ok {
		if m.bug != "lockout-no-reset" {
			t.fails = 0
		}
		return harness.Reply{Accepted: true}, nil
	}
	if m.bug == "burn-on-failure" && t.t.Kind == harness.HOTP {
		t.setCounter(t.counter(m.bug) + 1)
	}
	t.fails++
	f := m.p.LockoutAfter()
	if m.bug == "lockout-one-late" {
		f++
	}
	if f > 0 && t.fails >= f && m.bug != "lockout-never" {
		t.locked = true
	}
	return harness.Reply{Locked: t.locked}, nil
}

func (m *mutant) checkHOTP(t *mtok, typed string) bool {
	if t.spent {
		return false
	}
	c := t.counter(m.bug)
	for k := uint64(0); k <= m.lookAhead(); k++ {
		if c+k < c {
			break
		}
		if !m.equal(typed, m.code(t.t, c+k)) {
			continue
		}
		switch {
		case m.bug == "no-advance":
		case m.bug == "advance-by-one":
			t.setCounter(c + 1)
		case c+k == math.MaxUint64:
			t.spent = true
		default:
			t.setCounter(c + k + 1)
		}
		return true
	}
	return false
}

// checkRace is check-then-set without holding the token's lock across both:
// each access is locked (no data race), but two requests can read the same
// counter before either writes it.
func (m *mutant) checkRace(t *mtok, typed string) harness.Reply {
	t.mu.Lock()
	c, locked := t.counter(m.bug), t.locked
	t.mu.Unlock()
	if locked {
		return harness.Reply{Locked: true}
	}
	for k := uint64(0); k <= m.lookAhead() && c+k >= c; k++ {
		if m.equal(typed, m.code(t.t, c+k)) {
			runtime.Gosched()
			time.Sleep(200 * time.Microsecond)
			t.mu.Lock()
			t.setCounter(c + k + 1)
			t.fails = 0
			t.mu.Unlock()
			return harness.Reply{Accepted: true}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fails++
	if f := m.p.LockoutAfter(); f > 0 && t.fails >= f {
		t.locked = true
	}
	return harness.Reply{Locked: t.locked}
}

func (m *mutant) checkTOTP(t *mtok, req harness.CheckRequest) bool {
	t0 := t.t.T0
	if m.bug == "t0-ignored" {
		t0 = 0
	}
	now := req.Time.Unix()
	if now < t0 {
		return false
	}
	step := (now - t0) / t.t.Period
	back, ahead := int64(m.p.TOTP.SkewBack), int64(m.p.TOTP.SkewAhead)
	if m.bug == "totp-future" {
		ahead++
	}
	for s := step - back; s <= step+ahead; s++ {
		if s < 0 || (t.hasLast && s <= t.last && m.bug != "totp-reuse") {
			continue
		}
		if m.equal(req.Code, m.code(t.t, uint64(s))) {
			t.last, t.hasLast = s, true
			return true
		}
	}
	return false
}

func (m *mutant) Resync(_ context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	n := m.p.ResyncCodes()
	if n == 0 {
		return harness.Reply{}, fmt.Errorf("resync: %w", harness.ErrUnsupported)
	}
	t := m.get(req.Serial)
	if t == nil || len(req.Codes) != n || t.t.Kind != harness.HOTP {
		return harness.Reply{}, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.locked && !m.p.Lockout.ResyncUnlocks && m.bug != "resync-unlocks" {
		return harness.Reply{Locked: true}, nil
	}
	c := t.counter(m.bug)
	lo, hi := c, c+min(m.p.Resync.Window, math.MaxUint64-c)
	switch m.bug {
	case "resync-unbounded":
		hi = c + 100*m.p.Resync.Window + 1000
	case "resync-behind":
		lo = c - min(c, m.p.Resync.Window)
	}
	for k := lo; k <= hi && k <= math.MaxUint64-uint64(n-1); k++ {
		if !m.resyncMatch(t, req.Codes, k) {
			if k == hi {
				break
			}
			continue
		}
		switch m.bug {
		case "resync-no-move":
		case "resync-past-first":
			t.setCounter(k + 1)
		default:
			t.setCounter(k + uint64(n))
		}
		t.locked, t.fails = false, 0
		return harness.Reply{Accepted: true}, nil
	}
	return harness.Reply{}, nil
}

func (m *mutant) resyncMatch(t *mtok, codes []string, k uint64) bool {
	n := uint64(len(codes))
	want := make([]string, n)
	for i := range want {
		want[i] = m.code(t.t, k+uint64(i))
	}
	switch m.bug {
	case "resync-any-order":
		got := slices.Clone(codes)
		slices.Sort(got)
		slices.Sort(want)
		return slices.Equal(got, want)
	case "resync-gap":
		// Checks the first code and that the last is one of the next few.
		if !m.equal(codes[0], want[0]) {
			return false
		}
		for j := k + n - 1; j <= k+n; j++ {
			if m.equal(codes[n-1], m.code(t.t, j)) {
				return true
			}
		}
		return false
	}
	for i := range want {
		if !m.equal(codes[i], want[i]) {
			return false
		}
	}
	return true
}

func (m *mutant) Unlock(_ context.Context, serial string) error {
	t := m.get(serial)
	if t == nil {
		return fmt.Errorf("unlock %s: unknown token", serial)
	}
	if m.bug == "unlock-noop" {
		return nil
	}
	t.mu.Lock()
	t.locked, t.fails = false, 0
	t.mu.Unlock()
	return nil
}

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
//
// It is written from docs/protocol.md ("What every field means, exactly")
// alone, not from the harness's model nor from the reference verifier, so
// that the crosscheck test compares two independent readings of the
// contract. It computes codes with its own HMAC code, not with package
// token, so that truncation and hash bugs can be planted.
//
// Where the contract leaves a choice open, the mutant takes these:
//   - a malformed code (check step 5) and a resync refused at its step 4
//     (wrong number of codes, a malformed code, a time token, a spent
//     token) count as no failure;
//   - lenient input rejects '_' between digits as malformed;
//   - among several steps or counters whose code matches, the smallest
//     is taken;
//   - a check's purpose does not matter (one token state for all).
type mutant struct {
	bug string
	p   harness.Profile
	// clock is the verifier's own clock, read under clock "wall".
	clock func() time.Time

	mu   sync.Mutex
	toks map[string]*mtok
	memo sync.Map // codeKey -> string
}

// mtok is one token's server-side state.
type mtok struct {
	mu     sync.Mutex
	t      harness.Token
	next   uint64 // c
	next32 uint32 // c, as a 32-bit store would hold it (bug counter-32bit)
	nextF  float64
	spent  bool // the code of counters.max was accepted, or burnt past it

	fails  int   // n
	tFail  int64 // the time of the n-th failure
	locked bool
	tLock  int64
	checks []int64 // every check's time, for the rate limit

	// HOTP resync.auto: the remembered code of counter autoR, at autoAt.
	autoOK bool
	autoR  uint64
	autoAt int64

	// TOTP.
	last    int64 // the last accepted step (reuse "later")
	hasLast bool
	used    map[int64]bool // every accepted step (reuse "once")
	delta   int64          // δ
	runLen  int            // totp.resync run: its length,
	runStep int64          // the step of its last check,
	runOffs []int64        // the offsets common to its checks.

	claimed map[uint64]bool // counters being accepted (bug lost-update)
}

func newMutant(bug string, p harness.Profile) *mutant {
	return &mutant{bug: bug, p: p, clock: time.Now, toks: map[string]*mtok{}}
}

func (m *mutant) Describe(context.Context) (harness.Info, error) {
	p := m.p
	return harness.Info{Name: "mutant " + m.bug, Profile: &p}, nil
}

func refuse(format string, a ...any) error {
	return &harness.RefusedError{Op: "enroll", Message: fmt.Sprintf(format, a...)}
}

// Enroll registers a token inside what the profile claims and refuses any
// other.
func (m *mutant) Enroll(_ context.Context, t harness.Token) error {
	p := m.p
	switch {
	case !p.SupportsKind(t.Kind):
		return refuse("kind %s not supported", t.Kind)
	case !p.SupportsAlgorithm(t.Algorithm):
		return refuse("algorithm %s not supported", t.Algorithm)
	case !p.SupportsDigits(t.Digits):
		return refuse("%d digits not supported", t.Digits)
	}
	if t.Kind == harness.HOTP {
		lo := p.CounterMin()
		if m.bug == "enroll-refuses-min" && lo < math.MaxUint64 {
			lo++ // off by one: "counter > min"
		}
		hi := p.CounterMax()
		if m.bug == "counter-int64" {
			hi = min(hi, math.MaxInt64) // a signed 64-bit column refuses more
		}
		if t.Counter < lo || t.Counter > hi {
			return refuse("counter %d outside %d..%d", t.Counter, p.CounterMin(), p.CounterMax())
		}
	} else {
		if !p.SupportsPeriod(t.Period) || (m.bug == "period-refused" && t.Period == 60) {
			return refuse("period %d s not supported", t.Period)
		}
		if !p.SupportsT0(t.T0) || (m.bug == "t0-refused" && t.T0 != 0) {
			return refuse("t0 %d not supported", t.T0)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.toks[t.Serial]; old != nil && m.bug == "re-enroll-keeps" {
		// Updates the key in place and keeps counter, failures, lock
		// and histories.
		old.mu.Lock()
		old.t = t
		old.mu.Unlock()
		return nil
	}
	mt := &mtok{t: t, used: map[int64]bool{}, claimed: map[uint64]bool{}}
	mt.setCounter(t.Counter)
	m.toks[t.Serial] = mt
	return nil
}

func (m *mutant) get(serial string) *mtok {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.toks[serial]
}

// now is the request's time, or the mutant's own clock under clock "wall".
func (m *mutant) now(req time.Time) int64 {
	if m.p.Clock == harness.ClockWall {
		return m.clock().Unix()
	}
	if m.bug == "clock-2262" {
		// CPython's clock under a fake time: 64-bit nanoseconds saturate.
		return min(req.Unix(), int64(math.MaxInt64/1_000_000_000))
	}
	return req.Unix()
}

// codeKey names one computed code in the mutant's memo.
type codeKey struct {
	secret string
	alg    token.Algorithm
	digits int
	c      uint64
}

// code returns the code of counter c, computed once: windows and resync
// searches ask for the same counters again and again.
func (m *mutant) code(t harness.Token, c uint64) string {
	k := codeKey{string(t.Secret), t.Algorithm, t.Digits, c}
	if v, ok := m.memo.Load(k); ok {
		return v.(string)
	}
	v := m.compute(t, c)
	m.memo.Store(k, v)
	return v
}

// compute computes a code the plain way, with the planted hash and
// truncation bugs.
func (m *mutant) compute(t harness.Token, c uint64) string {
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

// compareBug reports whether a planted comparison bug replaces the input
// rule; such bugs compare every string, well-formed or not.
func (m *mutant) compareBug() bool {
	switch m.bug {
	case "int-compare", "prefix-compare", "unicode-fold":
		return true
	}
	return false
}

// wellFormed is check step 5: whether a typed code is compared at all.
func (m *mutant) wellFormed(t harness.Token, typed string) bool {
	if m.compareBug() {
		return true
	}
	if m.bug == "nfkc" {
		typed = nfkcFold(typed)
	}
	if m.p.Input == harness.InputLenient {
		_, ok := m.lenientNumber(typed)
		return ok
	}
	if len(typed) != t.Digits {
		return false
	}
	for i := 0; i < len(typed); i++ {
		if typed[i] < '0' || typed[i] > '9' {
			return false
		}
	}
	return true
}

// lenientNumber reads s as Python's int() does (Unicode white space
// around it, an optional '+', one or more Unicode decimal digits) and
// returns the number's ASCII digits without leading zeros.
func (m *mutant) lenientNumber(s string) (string, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case m.bug == "lenient-minus" && strings.HasPrefix(s, "-"):
		s = s[1:] // reads "-755224" as 755224: the sign is dropped
	}
	if s == "" {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		v, ok := decimalValue(r)
		if !ok {
			return "", false
		}
		b.WriteByte(byte('0' + v))
	}
	return stripZeros(b.String()), true
}

func stripZeros(s string) string {
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return "0"
	}
	return s
}

// decimalValue is the value of a Unicode decimal digit (category Nd).
// Unicode encodes every decimal digit set as ten consecutive code points
// starting at zero, so the offset in its table range, mod 10, is the value.
func decimalValue(r rune) (int, bool) {
	if !unicode.IsDigit(r) {
		return 0, false
	}
	for _, g := range unicode.Nd.R16 {
		if uint16(r) >= g.Lo && uint16(r) <= g.Hi && r <= 0xffff {
			return int((uint16(r) - g.Lo) / g.Stride % 10), true
		}
	}
	for _, g := range unicode.Nd.R32 {
		if uint32(r) >= g.Lo && uint32(r) <= g.Hi {
			return int((uint32(r) - g.Lo) / g.Stride % 10), true
		}
	}
	return 0, false
}

// equal compares a well-formed typed code with the expected one, with the
// planted input-hygiene bugs.
func (m *mutant) equal(typed, want string) bool {
	switch m.bug {
	case "int-compare":
		a, err1 := strconv.Atoi(strings.TrimSpace(typed))
		b, _ := strconv.Atoi(want)
		return err1 == nil && a == b
	case "prefix-compare":
		return strings.HasPrefix(want, typed)
	case "nfkc":
		return nfkcFold(typed) == want
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
	if m.p.Input == harness.InputLenient {
		got, ok := m.lenientNumber(typed)
		if !ok {
			return false
		}
		if m.bug == "lenient-prefix" {
			// Compares only as many digits as were typed.
			return strings.HasPrefix(want, got) || strings.HasPrefix(stripZeros(want), got)
		}
		return hmac.Equal([]byte(got), []byte(stripZeros(want)))
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
	var l uint64
	if m.p.LookAhead != nil {
		l = *m.p.LookAhead
	}
	switch m.bug {
	case "window-too-wide":
		l++
	case "window-too-narrow":
		l--
	}
	return l
}

// counterMax is the last counter whose code can be accepted.
func (m *mutant) counterMax() uint64 {
	if m.bug == "counter-past-max" {
		return math.MaxUint64
	}
	if m.bug == "counter-int64" {
		return min(m.p.CounterMax(), math.MaxInt64)
	}
	return m.p.CounterMax()
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

// acceptCounter moves c past counter k, spending the token after the
// last counter.
func (m *mutant) acceptCounter(t *mtok, k uint64) {
	if k >= m.counterMax() {
		t.spent = true
		return
	}
	t.setCounter(k + 1)
}

// release is check and resync step 1.
func (m *mutant) release(t *mtok, now int64) {
	s := m.p.ReleaseAfter()
	if s <= 0 || !t.locked || m.bug == "release-never" {
		return
	}
	if m.bug == "release-early" {
		s--
	}
	if now >= t.tLock+s {
		t.locked = false
		if m.bug != "release-keeps-count" {
			t.fails = 0
		}
	}
}

// rateLimited is check step 2: it records the check and reports whether
// it is refused.
func (m *mutant) rateLimited(t *mtok, now int64) bool {
	rl := m.p.RateLimit
	if rl == nil {
		return false
	}
	n := 0
	for _, at := range t.checks {
		d := now - at
		if d >= 0 && (d < rl.Per || (m.bug == "rate-limit-inclusive" && d == rl.Per)) {
			n++
		}
	}
	refused := n >= rl.Attempts && m.bug != "rate-limit-never"
	if !refused || m.bug != "rate-limit-refused-not-recorded" {
		t.checks = append(t.checks, now)
	}
	return refused
}

// throttled is check step 4 (and resync step 3).
func (m *mutant) throttled(t *mtok, now int64) bool {
	th := m.p.Throttle
	if th == nil || t.fails < th.After || m.bug == "throttle-never" {
		return false
	}
	d := m.p.ThrottleDelay(t.fails)
	if m.bug == "throttle-no-growth" {
		d = th.Delay
	}
	if m.bug == "throttle-edge" {
		return now <= t.tFail+d
	}
	return now < t.tFail+d
}

// failure is check step 8: burn says whether on_failure advance applies.
func (m *mutant) failure(t *mtok, now int64, burn bool) {
	t.fails++
	t.tFail = now
	f := m.p.LockoutAfter()
	if m.bug == "lockout-one-late" && f > 0 {
		f++
	}
	if f > 0 && t.fails >= f && m.bug != "lockout-never" {
		t.locked, t.tLock = true, now
	}
	if t.t.Kind != harness.HOTP || t.spent {
		return
	}
	if m.bug == "burn-on-failure" || (burn && m.p.Advances() && m.bug != "advance-not-burned") {
		m.acceptCounter(t, t.counter(m.bug))
	}
}

// refusedBurn is the planted "advance-burns-malformed" bug: a check that
// is refused or malformed burns a counter too.
func (m *mutant) refusedBurn(t *mtok) {
	if m.bug == "advance-burns-malformed" && t.t.Kind == harness.HOTP && !t.spent {
		m.acceptCounter(t, t.counter(m.bug))
	}
}

func (m *mutant) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	t := m.get(req.Serial)
	if t == nil {
		return harness.Reply{}, nil
	}
	if t.t.Kind == harness.HOTP {
		switch m.bug {
		case "race":
			return m.checkRace(t, req.Code), nil
		case "lost-update", "lockout-race":
			return m.checkSplit(t, req), nil
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := m.now(req.Time)

	// Every check uses a remembered auto-resync code up and ends a skew
	// learning run; this one may start its own below.
	autoOK, autoR, autoAt := t.autoOK, t.autoR, t.autoAt
	if m.bug != "auto-kept" {
		t.autoOK = false
	}
	runLen, runStep, runOffs := t.runLen, t.runStep, t.runOffs
	t.runLen, t.runOffs = 0, nil

	m.release(t, now)
	if m.rateLimited(t, now) {
		m.refusedBurn(t)
		return harness.Reply{Locked: t.locked}, nil
	}
	if t.locked && m.bug != "locked-accepts" {
		m.refusedBurn(t)
		return harness.Reply{Locked: true}, nil
	}
	if m.throttled(t, now) {
		if m.bug == "throttle-refused-counts" {
			t.fails++
			t.tFail = now
		}
		m.refusedBurn(t)
		return harness.Reply{}, nil
	}
	if !m.wellFormed(t.t, req.Code) {
		m.refusedBurn(t)
		return harness.Reply{}, nil
	}
	var ok bool
	if t.t.Kind == harness.TOTP {
		ok = m.checkTOTP(t, req.Code, now, runLen, runStep, runOffs)
	} else {
		ok = m.checkHOTP(t, req.Code, now, autoOK, autoR, autoAt)
	}
	if ok {
		if m.bug != "lockout-no-reset" && m.bug != "throttle-no-reset" {
			t.fails = 0
		}
		return harness.Reply{Accepted: true}, nil
	}
	m.failure(t, now, true)
	return harness.Reply{Locked: t.locked}, nil
}

// checkHOTP is steps 6 and 7 for a counter token; a rejected check may
// remember its code for resync.auto.
func (m *mutant) checkHOTP(t *mtok, typed string, now int64, autoOK bool, autoR uint64, autoAt int64) bool {
	if t.spent {
		return false
	}
	c, hi := t.counter(m.bug), m.counterMax()
	for k := uint64(0); k <= m.lookAhead(); k++ {
		if c+k < c || c+k > hi {
			break
		}
		if !m.equal(typed, m.code(t.t, c+k)) {
			continue
		}
		switch {
		case m.bug == "no-advance":
		case m.bug == "advance-by-one":
			t.setCounter(c + 1)
		default:
			m.acceptCounter(t, c+k)
		}
		return true
	}
	auto := m.p.Resync
	if auto == nil || auto.Auto == nil || m.bug == "auto-never" {
		return false
	}
	if autoOK && (now-autoAt <= auto.Auto.Within || m.bug == "auto-no-timeout") {
		for j := uint64(1); j <= 1 || (m.bug == "auto-gap" && j <= 2); j++ {
			if autoR+j < autoR || autoR+j > hi || !m.equal(typed, m.code(t.t, autoR+j)) {
				continue
			}
			t.autoOK = false
			m.acceptCounter(t, autoR+j)
			return true
		}
	}
	// Remember this code if it is beyond the look-ahead but inside the
	// resync window.
	for k := m.lookAhead() + 1; k <= auto.Window; k++ {
		if c+k < c || c+k > hi {
			break
		}
		if m.equal(typed, m.code(t.t, c+k)) {
			t.autoOK, t.autoR, t.autoAt = true, c+k, now
			break
		}
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

// checkSplit reads the token, compares without its lock, and writes the
// result back. Under "lost-update" a code being accepted is claimed, so
// that it is never accepted twice, but the counter written is the one
// computed from the counter read, so a slower neighbour moves it back.
// Under "lockout-race" the lock is looked at before the compare only, so
// a burst of codes is compared in full however many of them fail, and a
// correct one is accepted after the failures served before it locked
// the token.
func (m *mutant) checkSplit(t *mtok, req harness.CheckRequest) harness.Reply {
	now := m.now(req.Time)
	t.mu.Lock()
	m.release(t, now)
	if m.rateLimited(t, now) || t.locked || m.throttled(t, now) || !m.wellFormed(t.t, req.Code) {
		t.mu.Unlock()
		return harness.Reply{Locked: t.locked}
	}
	c, hi, spent := t.counter(m.bug), m.counterMax(), t.spent
	t.mu.Unlock()
	hit, found := uint64(0), false
	for k := uint64(0); !spent && k <= m.lookAhead() && c+k >= c && c+k <= hi; k++ {
		if m.equal(req.Code, m.code(t.t, c+k)) {
			hit, found = c+k, true
			break
		}
	}
	runtime.Gosched()
	time.Sleep(300 * time.Microsecond)
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.bug == "lost-update" && t.locked {
		return harness.Reply{Locked: true}
	}
	if found && (t.claimed[hit] || t.next > hit || t.spent) {
		found = false // used meanwhile: a replay
	}
	if !found {
		m.failure(t, now, true)
		return harness.Reply{Locked: t.locked}
	}
	if m.bug == "lost-update" {
		t.claimed[hit] = true
		t.mu.Unlock()
		// The lower the code, the later its write: the slowest
		// neighbour is the one that loses the update.
		time.Sleep(time.Duration(m.lookAhead()-(hit-c)+1) * 300 * time.Microsecond)
		t.mu.Lock()
		delete(t.claimed, hit)
		if hit < m.counterMax() {
			t.setCounter(hit + 1) // even if a neighbour moved it further
			t.fails = 0
			return harness.Reply{Accepted: true}
		}
	}
	m.acceptCounter(t, hit)
	t.fails = 0
	return harness.Reply{Accepted: true}
}

// step is floor((now - t0) / period).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// reusable is the reuse rule: whether step s may be accepted.
func (m *mutant) reusable(t *mtok, s int64) bool {
	if m.bug == "totp-reuse" || m.p.ReuseAny() {
		return true
	}
	if m.bug == "last-code" {
		return !t.hasLast || m.code(t.t, uint64(s)) != m.code(t.t, uint64(t.last))
	}
	if m.p.ReuseOnce() {
		if m.bug == "once-reuse" {
			return !t.hasLast || s != t.last // remembers only the last step
		}
		return !t.used[s]
	}
	return !t.hasLast || s > t.last
}

// record books step s as accepted.
func (m *mutant) record(t *mtok, s int64) {
	t.used[s] = true
	if !t.hasLast || s > t.last || m.p.ReuseOnce() || m.bug == "last-code" {
		t.last, t.hasLast = s, true
	}
}

// checkTOTP is steps 6 and 7 for a time token.
func (m *mutant) checkTOTP(t *mtok, typed string, now int64, runLen int, runStep int64, runOffs []int64) bool {
	t0 := t.t.T0
	if m.bug == "t0-ignored" {
		t0 = 0
	}
	period := t.t.Period
	if m.bug == "period-as-30" {
		period = 30
	}
	T := floorDiv(now-t0, period)
	pol := m.p.TOTP
	back, ahead := int64(pol.SkewBack), int64(pol.SkewAhead)
	if m.bug == "totp-future" {
		ahead++
	}
	if m.bug == "once-pruned" {
		for u := range t.used {
			if u < T-back {
				delete(t.used, u)
			}
		}
	}
	var maxDrift int64 = -1
	if pol.Drift != nil && pol.Drift.Max != nil && m.bug != "drift-unbounded" {
		maxDrift = int64(*pol.Drift.Max)
	}
	centre := T + t.delta
	lo, hi := centre-back, centre+ahead
	if m.bug == "seconds-window" {
		// A library that takes its tolerance in seconds, given 10 s:
		// the previous step only in a step's first 10 s, the next only
		// in its last 10 s.
		lo, hi = floorDiv(now-10-t0, period)+t.delta, floorDiv(now+10-t0, period)+t.delta
	}
	for s := lo; s <= hi; s++ {
		if s < 0 || !m.reusable(t, s) {
			continue
		}
		if maxDrift >= 0 && (s-T > maxDrift || T-s > maxDrift) {
			continue
		}
		if m.equal(typed, m.code(t.t, uint64(s))) {
			m.record(t, s)
			if pol.Drift != nil && m.bug != "drift-not-followed" {
				t.delta = s - T
			}
			return true
		}
	}
	sk := pol.Resync
	if sk == nil || m.bug == "skew-never" {
		return false
	}
	var cands []int64
	r := int64(sk.Range)
	for s := -r; s <= r; s++ {
		if T+s < 0 {
			continue
		}
		if m.bug != "skew-replay" && !m.reusable(t, T+s) {
			continue
		}
		if m.equal(typed, m.code(t.t, uint64(T+s))) {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return false
	}
	var common []int64
	successive := runLen > 0 && (runStep == T-1 || (m.bug == "skew-not-successive" && runStep != T))
	if successive {
		for _, s := range cands {
			if slices.Contains(runOffs, s) {
				common = append(common, s)
			}
		}
	}
	if len(common) > 0 {
		t.runLen, t.runOffs = runLen+1, common
	} else {
		t.runLen, t.runOffs = 1, cands
	}
	t.runStep = T
	need := sk.Codes
	if m.bug == "skew-early" {
		need--
	}
	if t.runLen < need {
		return false
	}
	s := t.runOffs[0]
	t.delta = s
	m.record(t, T+s)
	t.runLen, t.runOffs = 0, nil
	return true
}

func (m *mutant) Resync(_ context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	if m.p.ResyncCodes() == 0 {
		return harness.Reply{}, fmt.Errorf("resync: %w", harness.ErrUnsupported)
	}
	t := m.get(req.Serial)
	if t == nil {
		return harness.Reply{}, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := m.now(req.Time)
	codes, rep, ok := m.resyncGate(t, now, req.Codes)
	if !ok {
		return rep, nil
	}
	k, found := m.resyncFind(t, codes)
	if m.bug == "resync-race" {
		// Matches and writes in two steps, letting go of the token in
		// between, so that the same resync sent several times at once
		// is accepted by each.
		t.mu.Unlock()
		runtime.Gosched()
		time.Sleep(300 * time.Microsecond)
		t.mu.Lock()
	}
	if found {
		m.resyncAccept(t, k, uint64(len(codes)))
		return harness.Reply{Accepted: true}, nil
	}
	if m.p.CountsResync() && m.bug != "counts-resync-ignored" {
		m.failure(t, now, false)
	}
	return harness.Reply{Locked: t.locked}, nil
}

// resyncGate is resync steps 1 to 4: it returns the codes to match, or
// the reply that ends the request.
func (m *mutant) resyncGate(t *mtok, now int64, codes []string) ([]string, harness.Reply, bool) {
	t.autoOK = false
	t.runLen, t.runOffs = 0, nil
	m.release(t, now)
	if m.bug == "rate-limit-resync" && m.rateLimited(t, now) {
		return nil, harness.Reply{}, false
	}
	if t.locked && !m.resyncUnlocks() && m.bug != "resync-unlocks" && m.bug != "resync-ignores-lock" {
		return nil, harness.Reply{Locked: true}, false
	}
	if m.bug != "throttle-resync-free" && m.throttled(t, now) {
		return nil, harness.Reply{Locked: t.locked}, false
	}
	n := m.p.ResyncCodes()
	switch {
	case m.bug == "resync-one-code-short" && len(codes) == 1:
	case m.bug == "resync-extra-ignored" && len(codes) > n:
		codes = codes[:n]
	case len(codes) != n:
		return nil, harness.Reply{Locked: t.locked}, false
	}
	for _, c := range codes {
		if !m.wellFormed(t.t, c) {
			return nil, harness.Reply{Locked: t.locked}, false
		}
	}
	if t.t.Kind != harness.HOTP || t.spent {
		return nil, harness.Reply{Locked: t.locked}, false
	}
	return codes, harness.Reply{}, true
}

// resyncFind returns the first counter k of the smallest matching
// offset.
func (m *mutant) resyncFind(t *mtok, codes []string) (uint64, bool) {
	n := uint64(len(codes))
	c, top := t.counter(m.bug), m.counterMax()
	lo, hi := c, c+min(m.p.Resync.Window, math.MaxUint64-c)
	switch m.bug {
	case "resync-unbounded":
		hi = c + 100*m.p.Resync.Window + 1000
	case "resync-behind":
		lo = c - min(c, m.p.Resync.Window)
	}
	for k := lo; k <= hi; k++ {
		if k > top || top-k < n-1 {
			break
		}
		if m.resyncMatch(t, codes, k) {
			return k, true
		}
		if k == hi {
			break
		}
	}
	return 0, false
}

func (m *mutant) resyncUnlocks() bool { return m.p.Lockout != nil && m.p.Lockout.ResyncUnlocks }

func (m *mutant) resyncAccept(t *mtok, k, n uint64) {
	switch m.bug {
	case "resync-no-move":
	case "resync-past-first":
		t.setCounter(k + 1)
	default:
		m.acceptCounter(t, k+n-1)
	}
	locked := t.locked && m.bug == "resync-ignores-lock"
	t.locked, t.fails = locked, 0
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
	if m.bug != "rate-limit-unlock-keeps" {
		t.checks = nil
	}
	t.mu.Unlock()
	return nil
}

// nfkcFold maps the digits Unicode NFKC turns into ASCII digits (as a
// library that normalises its input does), written from the Unicode
// tables independently of the harness's own: fullwidth, superscript,
// subscript, circled and mathematical digits.
func nfkcFold(s string) string {
	super := map[rune]rune{'⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9'}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			r = '0' + (r - '０')
		case r >= '₀' && r <= '₉':
			r = '0' + (r - '₀')
		case r >= '①' && r <= '⑨':
			r = '1' + (r - '①')
		case r == '⓪':
			r = '0'
		case r >= 0x1D7CE && r <= 0x1D7FF:
			r = '0' + (r-0x1D7CE)%10
		case super[r] != 0:
			r = super[r]
		}
		b.WriteRune(r)
	}
	return b.String()
}

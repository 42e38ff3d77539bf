package token_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/vectors"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func newC100(t *testing.T, cfg token.C100Config) *token.C100 {
	t.Helper()
	if cfg.Serial == "" {
		cfg.Serial = "1000000000001"
	}
	if cfg.Secret == nil {
		cfg.Secret = vectors.RFC4226Secret()
	}
	d, err := token.NewC100(cfg)
	require.NoError(t, err)
	return d
}

func TestC100PressShowsRFCCodes(t *testing.T) {
	d := newC100(t, token.C100Config{})
	want := []string{"755224", "287082", "359152", "969429"}
	now := t0
	for i, w := range want {
		p, err := d.Press(now)
		require.NoError(t, err)
		assert.Equal(t, w, p.Code)
		assert.EqualValues(t, i, p.Counter)
		assert.True(t, p.Advanced)
		assert.Equal(t, now.Add(token.DefaultDisplay), p.Until)
		now = now.Add(11 * time.Second)
	}
	assert.EqualValues(t, 4, d.Counter())
}

func TestC100PressWhileDisplayOn(t *testing.T) {
	d := newC100(t, token.C100Config{Display: 10 * time.Second})
	p1, err := d.Press(t0)
	require.NoError(t, err)
	p2, err := d.Press(t0.Add(9 * time.Second))
	require.NoError(t, err)
	assert.Equal(t, p1.Code, p2.Code, "a press while the display is on shows the same code")
	assert.False(t, p2.Advanced)
	assert.Equal(t, t0.Add(19*time.Second), p2.Until, "the display stays on a full period more")
	shown, on := d.Displayed(t0.Add(18 * time.Second))
	assert.True(t, on)
	assert.Equal(t, "755224", shown.Code)
	_, on = d.Displayed(t0.Add(19 * time.Second))
	assert.False(t, on, "the display is off exactly at Until")
	p3, err := d.Press(t0.Add(19 * time.Second))
	require.NoError(t, err)
	assert.Equal(t, "287082", p3.Code)

	adv := newC100(t, token.C100Config{AdvanceWhileOn: true})
	a1, _ := adv.Press(t0)
	a2, _ := adv.Press(t0.Add(time.Second))
	assert.Equal(t, "755224", a1.Code)
	assert.Equal(t, "287082", a2.Code, "AdvanceWhileOn: every press advances")
}

func TestC100CounterEnd(t *testing.T) {
	d := newC100(t, token.C100Config{Counter: math.MaxUint64 - 1})
	now := t0
	for range 2 {
		_, err := d.Press(now)
		require.NoError(t, err)
		now = now.Add(time.Minute)
	}
	assert.True(t, d.Exhausted())
	_, err := d.Press(now)
	require.ErrorIs(t, err, token.ErrCounterExhausted)
	assert.Contains(t, err.Error(), "1000000000001")
	assert.Equal(t, uint64(math.MaxUint64), d.Counter(), "no wrap to 0")

	s := newC100(t, token.C100Config{Counter: math.MaxUint64 - 5})
	require.ErrorIs(t, s.Skip(7), token.ErrCounterExhausted)
	assert.Equal(t, uint64(math.MaxUint64-5), s.Counter(), "a failed skip changes nothing")
	require.NoError(t, s.Skip(6))
	assert.True(t, s.Exhausted())
}

func TestC100SkipAndPresses(t *testing.T) {
	d := newC100(t, token.C100Config{})
	require.NoError(t, d.Skip(5))
	var got []string
	var last token.Press
	for p := range d.Presses(t0) {
		got = append(got, p.Code)
		if p.Counter > 5 && !p.At.After(last.At) {
			t.Fatalf("presses must move forward in time")
		}
		last = p
		if len(got) == 3 {
			break
		}
	}
	assert.Equal(t, []string{"254676", "287922", "162583"}, got)
	assert.EqualValues(t, 8, d.Counter())
}

func TestC100ConfigRoundTrip(t *testing.T) {
	d := newC100(t, token.C100Config{Digits: 8})
	_, err := d.Press(t0)
	require.NoError(t, err)
	cfg := d.Config()
	cfg.Secret[0] ^= 0xff // the copy must not alias the device
	cfg.Secret[0] ^= 0xff
	e, err := token.NewC100(cfg)
	require.NoError(t, err)
	p1, _ := d.Press(t0.Add(time.Second))
	p2, _ := e.Press(t0.Add(time.Second))
	assert.Equal(t, p1, p2)
}

func TestC100ConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  token.C100Config
		want error
	}{
		"12-digit serial":  {token.C100Config{Serial: "100000000000", Secret: []byte("k")}, token.ErrSerial},
		"14-digit serial":  {token.C100Config{Serial: "10000000000000", Secret: []byte("k")}, token.ErrSerial},
		"c200 prefix":      {token.C100Config{Serial: "2000000000000", Secret: []byte("k")}, token.ErrSerial},
		"digits 5":         {token.C100Config{Serial: "1000000000000", Secret: []byte("k"), Digits: 5}, token.ErrDigits},
		"digits 11":        {token.C100Config{Serial: "1000000000000", Secret: []byte("k"), Digits: 11}, token.ErrDigits},
		"negative display": {token.C100Config{Serial: "1000000000000", Secret: []byte("k"), Display: -time.Second}, token.ErrConfig},
		"no secret":        {token.C100Config{Serial: "1000000000000"}, token.ErrSecret},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := token.NewC100(tc.cfg)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestSerials(t *testing.T) {
	r1 := rand.New(rand.NewPCG(1, 2))
	r2 := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		a, b := token.NewSerial(token.ModelC100, r1), token.NewSerial(token.ModelC100, r2)
		assert.Equal(t, a, b, "seeded serials are reproducible")
		_, err := token.ParseSerial(string(a), token.ModelC100)
		require.NoError(t, err)
		assert.Equal(t, byte('1'), a[0])
	}
	s := token.NewSerial(token.ModelC200, r1)
	assert.Equal(t, byte('2'), s[0])
	for in, msg := range map[string]string{
		"123456789012":   `serial "123456789012": invalid serial: has 12 characters, want 13 digits`,
		"12345678901234": `serial "12345678901234": invalid serial: has 14 characters, want 13 digits`,
		"12345678901a3":  `serial "12345678901a3": invalid serial: character 12 is not a digit`,
		"2234567890123":  `serial "2234567890123": invalid serial: c100 serials start with 1`,
	} {
		_, err := token.ParseSerial(in, token.ModelC100)
		require.ErrorIs(t, err, token.ErrSerial)
		assert.EqualError(t, err, msg)
	}
	_, err := token.ParseSerial("2234567890123", "")
	assert.NoError(t, err, "no model: any prefix")
	_, err = token.ParseModel("c300")
	assert.ErrorIs(t, err, token.ErrModel)
}

func TestC200Codes(t *testing.T) {
	d, err := token.NewC200(token.C200Config{Serial: "2000000000001", Secret: vectors.RFC4226Secret()})
	require.NoError(t, err)
	c, err := d.Code(time.Unix(59, 0))
	require.NoError(t, err)
	assert.Equal(t, "755224", c.Code, "60 s step: t=59 is step 0")
	c, err = d.Code(time.Unix(1111111109, 0))
	require.NoError(t, err)
	assert.Equal(t, "360094", c.Code)

	app, err := token.NewC200(token.C200Config{Model: token.ModelApp, Serial: "2000000000002", Secret: vectors.RFC6238Secret("SHA1"), Digits: 8})
	require.NoError(t, err)
	c, err = app.Code(time.Unix(59, 0))
	require.NoError(t, err)
	assert.Equal(t, "94287082", c.Code, "app: 30 s step, RFC 6238 vector")

	var steps []uint64
	for tc := range app.Codes(time.Unix(50, 0)) {
		steps = append(steps, tc.Counter)
		assert.False(t, tc.Until.Before(tc.From))
		if len(steps) == 3 {
			break
		}
	}
	assert.Equal(t, []uint64{1, 2, 3}, steps)

	_, err = token.NewC200(token.C200Config{Serial: "1000000000001", Secret: []byte("k")})
	assert.ErrorIs(t, err, token.ErrSerial)
	_, err = token.NewC200(token.C200Config{Serial: "2000000000001", Secret: []byte("k"), Period: -30})
	assert.ErrorIs(t, err, token.ErrPeriod)
}

func TestC200Drift(t *testing.T) {
	synced := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := token.NewC200(token.C200Config{Serial: "2000000000001", Secret: []byte("k"), PPM: 20, SyncedAt: synced})
	require.NoError(t, err)
	later := synced.Add(400 * 24 * time.Hour)
	gain := d.Clock(later).Sub(later)
	// 400 days x 86400 s x 20e-6 = 691.2 s.
	assert.InDelta(t, 691.2, gain.Seconds(), 0.001)
	assert.WithinDuration(t, later, d.TrueTime(d.Clock(later)), time.Microsecond)
	steps, _ := d.Step(later)
	trueSteps, _ := token.Step(later.Unix(), 0, 60)
	assert.Equal(t, trueSteps+11, steps, "691 s ahead is 11 steps of 60 s")

	slow, err := token.NewC200(token.C200Config{Serial: "2000000000001", Secret: []byte("k"), Offset: -90 * time.Second, SyncedAt: synced})
	require.NoError(t, err)
	assert.Equal(t, later.Add(-90*time.Second), slow.Clock(later))
}

package token

import (
	"fmt"
	"iter"
	"math"
	"time"
)

// C200Config describes a time-based token (the C200 or a phone app): its
// factory settings and its clock. [C200.Config] followed by [NewC200]
// recreates a device exactly.
type C200Config struct {
	// Model is ModelC200 (the default) or ModelApp.
	Model Model
	// Serial is the 13-digit number on the back; it must start with 2.
	Serial Serial
	// Secret is the HMAC key.
	Secret []byte
	// Algorithm defaults to SHA1.
	Algorithm Algorithm
	// Digits defaults to 6.
	Digits int
	// Period is the time step in seconds; zero means 60 for the C200 and
	// 30 for the app.
	Period int64
	// T0 is the Unix second at which step 0 starts (RFC 6238 T0).
	T0 int64
	// Offset is how far the device clock was ahead of true time at
	// SyncedAt (negative: behind).
	Offset time.Duration
	// PPM is how fast the device clock runs, in parts per million of true
	// time: 20 means it gains 20 µs every second (about 1.7 s a day);
	// negative values run slow.
	PPM float64
	// SyncedAt is the true moment from which drift accumulates, such as
	// the day the token left the factory.
	SyncedAt time.Time
}

// MaxClockOffset bounds a time token's clock offset either way: 10^9 s,
// about 31.7 years. Every tool that sets an offset (a state file,
// tokensim drift, a fleet's drift plan) takes this one bound.
const MaxClockOffset = 1_000_000_000 * time.Second

// C200 is a simulated time-based token with a drifting clock. Its methods
// do not change it, so it is safe for concurrent reads once built, except
// that code generation shares one [Key]: use one device per goroutine.
type C200 struct {
	cfg C200Config
	key *Key
}

// NewC200 builds a time token from cfg, filling in defaults and checking
// every setting.
func NewC200(cfg C200Config) (*C200, error) {
	if cfg.Model == "" {
		cfg.Model = ModelC200
	}
	if !cfg.Model.TimeBased() {
		return nil, fmt.Errorf("c200: model %q: %w (want c200 or app)", cfg.Model, ErrModel)
	}
	if _, err := ParseSerial(string(cfg.Serial), cfg.Model); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Model, err)
	}
	if cfg.Algorithm == 0 {
		cfg.Algorithm = SHA1
	}
	if cfg.Digits == 0 {
		cfg.Digits = 6
	}
	if cfg.Period == 0 {
		cfg.Period = C200Period
		if cfg.Model == ModelApp {
			cfg.Period = DefaultPeriod
		}
	}
	if err := CheckPeriod(cfg.Period); err != nil {
		return nil, fmt.Errorf("%s %s: %w", cfg.Model, cfg.Serial, err)
	}
	if cfg.Offset < -MaxClockOffset || cfg.Offset > MaxClockOffset {
		return nil, fmt.Errorf("%s %s: clock offset %v: %w (a clock can be at most %d s off)", cfg.Model, cfg.Serial, cfg.Offset, ErrConfig, int64(MaxClockOffset/time.Second))
	}
	if math.IsNaN(cfg.PPM) || math.Abs(cfg.PPM) >= 1e6 {
		return nil, fmt.Errorf("%s %s: drift %v ppm: %w (must be between -1e6 and 1e6)", cfg.Model, cfg.Serial, cfg.PPM, ErrConfig)
	}
	key, err := NewKey(cfg.Secret, cfg.Algorithm, cfg.Digits)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", cfg.Model, cfg.Serial, err)
	}
	cfg.Secret = key.Secret()
	return &C200{cfg: cfg, key: key}, nil
}

// Config returns the device's settings; [NewC200] on the result makes an
// identical device.
func (d *C200) Config() C200Config {
	c := d.cfg
	c.Secret = d.key.Secret()
	return c
}

// Serial returns the device serial.
func (d *C200) Serial() Serial { return d.cfg.Serial }

// Key returns the device's prepared key.
func (d *C200) Key() *Key { return d.key }

// Clock returns what the device's clock reads at the true moment now:
// now + Offset + (now - SyncedAt) x PPM / 10^6.
func (d *C200) Clock(now time.Time) time.Time {
	t := now.Add(d.cfg.Offset)
	if d.cfg.PPM == 0 {
		return t
	}
	return t.Add(time.Duration(seconds(now, d.cfg.SyncedAt) * d.cfg.PPM / 1e6 * 1e9))
}

// TrueTime is the inverse of [C200.Clock]: the true moment at which the
// device clock reads device.
func (d *C200) TrueTime(device time.Time) time.Time {
	t := device.Add(-d.cfg.Offset)
	if d.cfg.PPM == 0 {
		return t
	}
	el := seconds(t, d.cfg.SyncedAt) // true elapsed x (1 + ppm/1e6)
	back := el * (d.cfg.PPM / 1e6) / (1 + d.cfg.PPM/1e6)
	return t.Add(-time.Duration(back * 1e9))
}

// seconds returns a - b in seconds as a float, without the ±292-year limit
// of time.Duration.
func seconds(a, b time.Time) float64 {
	return float64(a.Unix()-b.Unix()) + float64(a.Nanosecond()-b.Nanosecond())/1e9
}

// Step returns the time step the device is in at the true moment now, and
// false before T0 on the device clock.
func (d *C200) Step(now time.Time) (uint64, bool) {
	return Step(d.Clock(now).Unix(), d.cfg.T0, d.cfg.Period)
}

// Code returns the code the device shows at the true moment now.
func (d *C200) Code(now time.Time) (Code, error) {
	s, ok := d.Step(now)
	if !ok {
		return Code{}, fmt.Errorf("%s %s: device clock %s is before T0 %d", d.cfg.Model, d.cfg.Serial, d.Clock(now).UTC().Format(time.RFC3339), d.cfg.T0)
	}
	return Code{Counter: s, Code: d.key.HOTP(s)}, nil
}

// TimedCode is one entry of a time token's code stream.
type TimedCode struct {
	Code
	// From and Until bound, in true time, the moments at which the device
	// shows this code.
	From, Until time.Time
}

// Codes returns the codes the device shows from the true moment from on,
// one per time step, with the true-time interval in which each is shown.
func (d *C200) Codes(from time.Time) iter.Seq[TimedCode] {
	return func(yield func(TimedCode) bool) {
		first, err := d.Code(from)
		if err != nil {
			return
		}
		for s := first.Counter; ; s++ {
			start := d.TrueTime(time.Unix(StepStart(s, d.cfg.T0, d.cfg.Period), 0))
			end := d.TrueTime(time.Unix(StepStart(s+1, d.cfg.T0, d.cfg.Period), 0))
			if start.Before(from) {
				start = from
			}
			if !yield(TimedCode{Code: Code{Counter: s, Code: d.key.HOTP(s)}, From: start, Until: end}) {
				return
			}
		}
	}
}

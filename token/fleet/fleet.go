// Package fleet generates reproducible fleets of simulated tokens: serials,
// secrets and drifts drawn from a seed, one device at a time, so a fleet of
// a million devices costs the memory of one.
//
// Serials are consecutive, as in a vendor's shipping batch, from a first
// serial drawn from the seed (or given). Secrets, the first serial and
// drifts come from three separate ChaCha8 streams derived from the seed,
// so changing the drift plan of a fleet does not change its secrets.
package fleet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/drift"
)

// ErrPlan reports a fleet plan that cannot be built.
var ErrPlan = errors.New("invalid fleet plan")

// MaxCount bounds the size of one fleet.
const MaxCount = 100_000_000

// maxClockDrift bounds the clock offset of time tokens, in seconds: the
// one bound of [token.MaxClockOffset].
const maxClockDrift = int64(token.MaxClockOffset / time.Second)

// serialSpace is the number of serials of one model (12 free digits).
const serialSpace = 1_000_000_000_000

// Plan describes a fleet.
type Plan struct {
	// Model is the device model of every member.
	Model token.Model
	// Count is the number of devices, 1 to MaxCount.
	Count int
	// Seed makes the fleet reproducible: the same plan and seed give the
	// same serials, secrets and drifts. It is secret material, since the
	// secrets follow from it.
	Seed []byte
	// Drift is the drift plan: unsubmitted presses for C100s, clock
	// offset in seconds for time tokens.
	Drift drift.Spec
	// Algorithm and Digits default to SHA1 and 6.
	Algorithm token.Algorithm
	Digits    int
	// Counter is where the server believes every C100's counter is; each
	// device is Drift presses ahead of it.
	Counter uint64
	// Period is the time step of time tokens; zero means the model's
	// default.
	Period int64
	// FirstSerial, if set, is the serial of the first device.
	FirstSerial token.Serial
	// At is the moment the time tokens' clocks were set (their drift
	// accumulates from there).
	At time.Time
}

// Member is one device of a fleet.
type Member struct {
	// Index counts from 0.
	Index int
	// Drift is the device's drift (presses, or seconds of clock offset).
	Drift int64
	// C100 is set for event tokens: the device, Drift presses ahead of
	// the plan's Counter.
	C100 *token.C100Config
	// C200 is set for time tokens: the device with a clock Drift seconds
	// ahead.
	C200 *token.C200Config
}

// Serial returns the member's serial.
func (m *Member) Serial() token.Serial {
	if m.C100 != nil {
		return m.C100.Serial
	}
	return m.C200.Serial
}

// Generator yields the members of a fleet.
type Generator struct {
	plan    Plan
	secrets *rand.ChaCha8
	drifts  *rand.Rand
	first   uint64 // the number after the model's prefix digit
}

func stream(seed []byte, purpose string) [32]byte {
	return sha256.Sum256(append([]byte("otplab fleet v1\x00"+purpose+"\x00"), seed...))
}

// New checks the plan and returns a generator for it.
func New(p Plan) (*Generator, error) {
	if p.Count < 1 || p.Count > MaxCount {
		return nil, fmt.Errorf("%w: count %d (want 1 to %d)", ErrPlan, p.Count, MaxCount)
	}
	switch p.Model {
	case token.ModelC100, token.ModelC200, token.ModelApp:
	default:
		return nil, fmt.Errorf("%w: model %q: %w", ErrPlan, p.Model, token.ErrModel)
	}
	if p.Algorithm == 0 {
		p.Algorithm = token.SHA1
	}
	if !p.Algorithm.Valid() {
		return nil, fmt.Errorf("%w: %w", ErrPlan, token.ErrAlgorithm)
	}
	if p.Digits == 0 {
		p.Digits = 6
	}
	if err := token.CheckDigits(p.Digits); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlan, err)
	}
	if p.Model == token.ModelC100 {
		if p.Drift.Min() < 0 {
			return nil, fmt.Errorf("%w: drift %s can be negative, but a c100 cannot be behind the server", ErrPlan, p.Drift)
		}
		if token.MaxCounter-p.Counter < uint64(p.Drift.Max())+2 {
			return nil, fmt.Errorf("%w: counter %d plus drift %s runs past the last counter", ErrPlan, p.Counter, p.Drift)
		}
	} else {
		if p.Drift.Min() < -maxClockDrift || p.Drift.Max() > maxClockDrift {
			return nil, fmt.Errorf("%w: drift %s: a clock can be at most %d s off", ErrPlan, p.Drift, int64(maxClockDrift))
		}
		if p.Period == 0 {
			p.Period = token.C200Period
			if p.Model == token.ModelApp {
				p.Period = token.DefaultPeriod
			}
		}
		if err := token.CheckPeriod(p.Period); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPlan, err)
		}
	}
	g := &Generator{
		plan:    p,
		secrets: rand.NewChaCha8(stream(p.Seed, "secrets")),
		drifts:  rand.New(rand.NewChaCha8(stream(p.Seed, "drift"))),
	}
	if p.FirstSerial != "" {
		s, err := token.ParseSerial(string(p.FirstSerial), p.Model)
		if err != nil {
			return nil, fmt.Errorf("%w: first serial: %w", ErrPlan, err)
		}
		g.first, _ = strconv.ParseUint(string(s[1:]), 10, 64)
		if g.first+uint64(p.Count) > serialSpace {
			return nil, fmt.Errorf("%w: %d serials from %s run past %c999999999999", ErrPlan, p.Count, s, p.Model.SerialPrefix())
		}
	} else {
		r := rand.New(rand.NewChaCha8(stream(p.Seed, "serials")))
		g.first = r.Uint64N(serialSpace - uint64(p.Count) + 1)
	}
	return g, nil
}

// Plan returns the plan with its defaults filled in.
func (g *Generator) Plan() Plan { return g.plan }

// Members yields the fleet's devices in order. The configurations and
// secrets yielded are fresh each time; a generator yields its fleet once.
func (g *Generator) Members() iter.Seq[Member] {
	return func(yield func(Member) bool) {
		p := &g.plan
		size := p.Algorithm.Size()
		for i := range p.Count {
			secret := make([]byte, size)
			g.secrets.Read(secret)
			serial := g.serial(i)
			d := p.Drift.Sample(g.drifts)
			m := Member{Index: i, Drift: d}
			if p.Model == token.ModelC100 {
				m.C100 = &token.C100Config{
					Serial: serial, Secret: secret, Algorithm: p.Algorithm, Digits: p.Digits,
					Counter: p.Counter + uint64(d),
				}
			} else {
				m.C200 = &token.C200Config{
					Model: p.Model, Serial: serial, Secret: secret, Algorithm: p.Algorithm, Digits: p.Digits,
					Period: p.Period, Offset: time.Duration(d) * time.Second, SyncedAt: p.At,
				}
			}
			if !yield(m) {
				return
			}
		}
	}
}

func (g *Generator) serial(i int) token.Serial {
	var b [token.SerialLen]byte
	b[0] = g.plan.Model.SerialPrefix()
	n := g.first + uint64(i)
	for j := token.SerialLen - 1; j >= 1; j-- {
		b[j] = byte('0' + n%10)
		n /= 10
	}
	return token.Serial(b[:])
}

package token

import (
	"fmt"
	"iter"
	"time"
)

// DefaultDisplay is how long a C100 keeps a code on its display. The real
// figure is not published; about ten seconds matches what users report.
const DefaultDisplay = 10 * time.Second

// C100Config describes a C100 event token, both its factory settings and
// its current state, so that [C100.Config] followed by [NewC100] recreates
// a device exactly.
type C100Config struct {
	// Serial is the 13-digit number on the back; it must start with 1.
	Serial Serial
	// Secret is the HMAC key burnt in at the factory.
	Secret []byte
	// Algorithm defaults to SHA1, the only one the real C100 uses.
	Algorithm Algorithm
	// Digits defaults to 6.
	Digits int
	// Counter is the counter value the next press will show.
	Counter uint64
	// Exhausted is set once the code of counter 2^64-1 has been shown: the
	// device then refuses every press.
	Exhausted bool
	// Display is how long a code stays on the display after a press;
	// zero means DefaultDisplay.
	Display time.Duration
	// AdvanceWhileOn makes a press while the display is still on advance
	// the counter and show the next code. The default (false) models the
	// assumption that such a press only keeps the current code on show.
	AdvanceWhileOn bool
	// Shown is the last press, if the display may still be on.
	Shown *Press
}

// Press is what one press of the button produced.
type Press struct {
	// At is when the button was pressed.
	At time.Time
	// Counter is the HOTP counter of the code on the display.
	Counter uint64
	// Code is the code on the display.
	Code string
	// Advanced is false when the press came while the display was on and
	// only re-showed the code already there.
	Advanced bool
	// Until is when the display goes off.
	Until time.Time
}

// C100 is a simulated C100 event token: each press of its button shows the
// HOTP code of its counter and moves the counter on. It is not safe for
// concurrent use.
type C100 struct {
	cfg C100Config
	key *Key
}

// NewC100 builds a C100 from cfg, filling in defaults and checking every
// setting.
func NewC100(cfg C100Config) (*C100, error) {
	if _, err := ParseSerial(string(cfg.Serial), ModelC100); err != nil {
		return nil, fmt.Errorf("c100: %w", err)
	}
	if cfg.Algorithm == 0 {
		cfg.Algorithm = SHA1
	}
	if cfg.Digits == 0 {
		cfg.Digits = 6
	}
	if cfg.Display == 0 {
		cfg.Display = DefaultDisplay
	}
	if cfg.Display < 0 {
		return nil, fmt.Errorf("c100 %s: display time %v: %w (must be positive)", cfg.Serial, cfg.Display, ErrConfig)
	}
	key, err := NewKey(cfg.Secret, cfg.Algorithm, cfg.Digits)
	if err != nil {
		return nil, fmt.Errorf("c100 %s: %w", cfg.Serial, err)
	}
	cfg.Secret = key.Secret()
	if cfg.Shown != nil {
		p := *cfg.Shown
		cfg.Shown = &p
	}
	return &C100{cfg: cfg, key: key}, nil
}

// Config returns the device's settings and state; [NewC100] on the result
// makes an identical device.
func (d *C100) Config() C100Config {
	c := d.cfg
	c.Secret = d.key.Secret()
	if c.Shown != nil {
		p := *c.Shown
		c.Shown = &p
	}
	return c
}

// Serial returns the device serial.
func (d *C100) Serial() Serial { return d.cfg.Serial }

// Key returns the device's prepared key. A Key is safe for concurrent use,
// so it may be handed to other goroutines as it is.
func (d *C100) Key() *Key { return d.key }

// Counter returns the counter the next advancing press will show.
func (d *C100) Counter() uint64 { return d.cfg.Counter }

// Exhausted reports whether the device has shown its last code.
func (d *C100) Exhausted() bool { return d.cfg.Exhausted }

// Displayed returns what the display shows at now, and false if it is off.
func (d *C100) Displayed(now time.Time) (Press, bool) {
	if d.cfg.Shown == nil || !now.Before(d.cfg.Shown.Until) || now.Before(d.cfg.Shown.At) {
		return Press{}, false
	}
	return *d.cfg.Shown, true
}

// Press presses the button at now. While the display is on (and
// AdvanceWhileOn is false) it shows the same code again and the display
// stays on for another full period; otherwise it shows the code of the
// current counter and advances the counter. Past counter 2^64-1 it returns
// an error wrapping [ErrCounterExhausted] and changes nothing.
func (d *C100) Press(now time.Time) (Press, error) {
	if shown, on := d.Displayed(now); on && !d.cfg.AdvanceWhileOn {
		shown.At, shown.Until, shown.Advanced = now, now.Add(d.cfg.Display), false
		d.cfg.Shown = &shown
		return shown, nil
	}
	if d.cfg.Exhausted {
		return Press{}, fmt.Errorf("c100 %s: press: %w: the last counter %d was already shown", d.cfg.Serial, ErrCounterExhausted, uint64(MaxCounter))
	}
	c := d.cfg.Counter
	p := Press{At: now, Counter: c, Code: d.key.HOTP(c), Advanced: true, Until: now.Add(d.cfg.Display)}
	if c == MaxCounter {
		d.cfg.Exhausted = true
	} else {
		d.cfg.Counter++
	}
	d.cfg.Shown = &p
	return p, nil
}

// Skip models n presses made in the past and never submitted to a server:
// the counter moves on by n without anything on the display. It fails,
// changing nothing, if that would go past counter 2^64-1.
func (d *C100) Skip(n uint64) error {
	if n == 0 {
		return nil
	}
	if d.cfg.Exhausted || MaxCounter-d.cfg.Counter < n-1 {
		return fmt.Errorf("c100 %s: skip %d presses: %w", d.cfg.Serial, n, ErrCounterExhausted)
	}
	if MaxCounter-d.cfg.Counter == n-1 {
		d.cfg.Counter, d.cfg.Exhausted = MaxCounter, true
	} else {
		d.cfg.Counter += n
	}
	d.cfg.Shown = nil
	return nil
}

// Presses returns the stream of presses a patient person makes from start
// on, each as soon as the display has gone off, so every press advances the
// counter. The device changes as the stream is read; the stream ends when
// the device is exhausted or the reader stops.
func (d *C100) Presses(start time.Time) iter.Seq[Press] {
	return func(yield func(Press) bool) {
		at := start
		for {
			if shown, on := d.Displayed(at); on {
				at = shown.Until
			}
			p, err := d.Press(at)
			if err != nil || !yield(p) {
				return
			}
			at = p.Until
		}
	}
}

// Code is one entry of a code stream.
type Code struct {
	// Counter is the HOTP counter or TOTP time step of the code.
	Counter uint64
	// Code is the zero-padded code.
	Code string
}

// Codes returns the codes of counters from, from+1, ... up to the last
// counter, without touching any device. Reading n codes costs n HMACs.
func (k *Key) Codes(from uint64) iter.Seq[Code] {
	return func(yield func(Code) bool) {
		var buf [MaxDigits]byte
		for c := from; ; c++ {
			if !yield(Code{Counter: c, Code: string(k.AppendHOTP(buf[:0], c))}) || c == MaxCounter {
				return
			}
		}
	}
}

// Package state defines the state file of a simulated token: versioned
// JSON that holds a device's factory settings and its current state
// (counter, display, clock), so that a tool can stop and resume a device.
//
//	{
//	  "version": 1,
//	  "model": "c100",
//	  "serial": "1000000000001",
//	  "algorithm": "SHA1",
//	  "digits": 6,
//	  "secret": "3132333435363738393031323334353637383930",
//	  "counter": 4,
//	  "display": "10s",
//	  "shown": {"at": "2026-11-23T09:00:30Z", "until": "2026-11-23T09:00:40Z",
//	            "counter": 3, "code": "969429", "advanced": true}
//	}
//
// Time tokens (models "c200" and "app") have "period", "t0",
// "clock_offset", "ppm" and "synced_at" instead of the counter and display
// fields. The secret is hex; the file is a secret and must be kept 0600.
//
// [Unmarshal] checks everything: unknown fields, the version, each value,
// and that the fields agree with each other (a shown code must be the code
// of its counter), so a file edited by hand into nonsense is refused with
// an error naming the field rather than producing wrong codes.
package state

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/otplab/otplab/token"
)

// Version is the state file version this package writes and reads.
const Version = 1

// MaxSize bounds a state file; real ones take a few hundred bytes.
const MaxSize = 64 << 10

// Errors returned by [Unmarshal]; both wrap details of the problem.
var (
	// ErrState reports a state file that is not valid: malformed JSON,
	// unknown or missing fields, values out of range, or fields that
	// contradict each other.
	ErrState = errors.New("invalid state file")
	// ErrVersion reports a state file of a version this package does not
	// read. It also wraps ErrState.
	ErrVersion = fmt.Errorf("%w: unsupported version", ErrState)
	// ErrRange reports a moment that a state file cannot hold: RFC 3339
	// has room for years 0000 to 9999 only (in UTC, as they are written).
	// [Marshal] returns it rather than write a file that would not read
	// back; [Unmarshal] returns it, wrapped in ErrState, for a time whose
	// UTC form is out of range.
	ErrRange = errors.New("time out of range for a state file (years 0000 to 9999)")
)

// CheckTime returns an error wrapping [ErrRange] if t cannot be written
// to a state file and read back. name names the field in the error.
func CheckTime(name string, t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%s: %w: year %d", name, ErrRange, y)
	}
	return nil
}

// Device is a simulated device as a state file holds it: exactly one of
// C100 and C200 is set.
type Device struct {
	// C100 is the event token, for model c100.
	C100 *token.C100
	// C200 is the time token, for models c200 and app.
	C200 *token.C200
	// Manufacturer is the vendor named in the seed file the device was
	// imported from, if any.
	Manufacturer string
	// VendorSerial is the serial in the seed file when it is not the
	// device's 13-digit serial (see pskc.KeyPackage.DeviceSerial).
	VendorSerial string
}

// Model returns the device model.
func (d *Device) Model() token.Model {
	if d.C200 != nil {
		return d.C200.Config().Model
	}
	return token.ModelC100
}

// Serial returns the device serial.
func (d *Device) Serial() token.Serial {
	if d.C200 != nil {
		return d.C200.Serial()
	}
	return d.C100.Serial()
}

// Key returns the device's prepared key.
func (d *Device) Key() *token.Key {
	if d.C200 != nil {
		return d.C200.Key()
	}
	return d.C100.Key()
}

// file is the JSON shape. Fields of one kind of device are pointers, so
// that their presence on the other kind can be refused.
type file struct {
	Version   int    `json:"version"`
	Model     string `json:"model"`
	Serial    string `json:"serial"`
	Algorithm string `json:"algorithm"`
	Digits    int    `json:"digits"`
	Secret    string `json:"secret"`

	Counter        *uint64 `json:"counter,omitempty"`
	Exhausted      *bool   `json:"exhausted,omitempty"`
	Display        *string `json:"display,omitempty"`
	AdvanceWhileOn *bool   `json:"advance_while_on,omitempty"`
	Shown          *shown  `json:"shown,omitempty"`

	Period      *int64   `json:"period,omitempty"`
	T0          *int64   `json:"t0,omitempty"`
	ClockOffset *string  `json:"clock_offset,omitempty"`
	PPM         *float64 `json:"ppm,omitempty"`
	SyncedAt    *string  `json:"synced_at,omitempty"`

	Manufacturer string `json:"manufacturer,omitempty"`
	VendorSerial string `json:"vendor_serial,omitempty"`
}

type shown struct {
	At       string `json:"at"`
	Until    string `json:"until"`
	Counter  uint64 `json:"counter"`
	Code     string `json:"code"`
	Advanced bool   `json:"advanced"`
}

func checkShown(at, until time.Time) error {
	if err := CheckTime("shown.at", at); err != nil {
		return err
	}
	return CheckTime("shown.until", until)
}

// Marshal encodes a device as an indented state file, ending in a newline.
// A device with a time the file cannot hold is refused with an error
// wrapping [ErrRange]: a file is never written that [Unmarshal] would not
// read.
func Marshal(d *Device) ([]byte, error) {
	if (d.C100 == nil) == (d.C200 == nil) {
		return nil, fmt.Errorf("state: %w: a device must be exactly one of c100 and c200", ErrState)
	}
	f := file{Version: Version, Manufacturer: d.Manufacturer, VendorSerial: d.VendorSerial}
	if d.C100 != nil {
		c := d.C100.Config()
		if p := c.Shown; p != nil {
			if err := checkShown(p.At, p.Until); err != nil {
				return nil, fmt.Errorf("state: %w", err)
			}
		}
		f.Model, f.Serial, f.Algorithm, f.Digits = string(token.ModelC100), string(c.Serial), c.Algorithm.String(), c.Digits
		f.Secret = hex.EncodeToString(c.Secret)
		disp := c.Display.String()
		f.Counter, f.Display = &c.Counter, &disp
		if c.Exhausted {
			f.Exhausted = &c.Exhausted
		}
		if c.AdvanceWhileOn {
			f.AdvanceWhileOn = &c.AdvanceWhileOn
		}
		if p := c.Shown; p != nil {
			f.Shown = &shown{At: formatTime(p.At), Until: formatTime(p.Until), Counter: p.Counter, Code: p.Code, Advanced: p.Advanced}
		}
	} else {
		c := d.C200.Config()
		if err := CheckTime("synced_at", c.SyncedAt); err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		f.Model, f.Serial, f.Algorithm, f.Digits = string(c.Model), string(c.Serial), c.Algorithm.String(), c.Digits
		f.Secret = hex.EncodeToString(c.Secret)
		off, synced := c.Offset.String(), formatTime(c.SyncedAt)
		f.Period, f.T0, f.ClockOffset, f.PPM, f.SyncedAt = &c.Period, &c.T0, &off, &c.PPM, &synced
	}
	b, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return append(b, '\n'), nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Unmarshal decodes and checks a state file. Every error wraps [ErrState]
// and names the field at fault; none contains the secret.
func Unmarshal(b []byte) (*Device, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrState, len(b), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrState, jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrState)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("%w %d (this tool reads version %d)", ErrVersion, f.Version, Version)
	}
	model, err := token.ParseModel(f.Model)
	if err != nil || string(model) != f.Model {
		return nil, fieldError("model", "want c100, c200 or app", token.ErrModel)
	}
	serial, err := token.ParseSerial(f.Serial, model)
	if err != nil {
		return nil, fieldError("serial", fmt.Sprintf("want %d digits starting with %c", token.SerialLen, model.SerialPrefix()), token.ErrSerial)
	}
	alg, err := token.ParseAlgorithm(f.Algorithm)
	if err != nil {
		return nil, fieldError("algorithm", "want SHA1, SHA256 or SHA512", token.ErrAlgorithm)
	}
	if err := token.CheckDigits(f.Digits); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	secret, err := token.ParseHex(f.Secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	d := &Device{Manufacturer: f.Manufacturer, VendorSerial: f.VendorSerial}
	if model == token.ModelC100 {
		d.C100, err = f.c100(serial, alg, secret)
	} else {
		d.C200, err = f.c200(model, serial, alg, secret)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (f *file) c100(serial token.Serial, alg token.Algorithm, secret []byte) (*token.C100, error) {
	for _, fl := range []struct {
		name    string
		present bool
	}{
		{"period", f.Period != nil}, {"t0", f.T0 != nil}, {"clock_offset", f.ClockOffset != nil},
		{"ppm", f.PPM != nil}, {"synced_at", f.SyncedAt != nil},
	} {
		if fl.present {
			return nil, fmt.Errorf("%w: field %q belongs to time tokens, not a c100", ErrState, fl.name)
		}
	}
	if f.Counter == nil {
		return nil, fmt.Errorf("%w: a c100 needs a counter", ErrState)
	}
	cfg := token.C100Config{Serial: serial, Secret: secret, Algorithm: alg, Digits: f.Digits, Counter: *f.Counter}
	if f.Exhausted != nil {
		cfg.Exhausted = *f.Exhausted
		if cfg.Exhausted && cfg.Counter != token.MaxCounter {
			return nil, fmt.Errorf("%w: exhausted but counter %d is not the last one", ErrState, cfg.Counter)
		}
	}
	if f.AdvanceWhileOn != nil {
		cfg.AdvanceWhileOn = *f.AdvanceWhileOn
	}
	if f.Display != nil {
		disp, err := time.ParseDuration(*f.Display)
		if err != nil || disp <= 0 {
			return nil, fieldError("display", "want a positive duration such as 10s", nil)
		}
		cfg.Display = disp
	}
	if f.Shown != nil {
		s := f.Shown
		at, err1 := time.Parse(time.RFC3339Nano, s.At)
		until, err2 := time.Parse(time.RFC3339Nano, s.Until)
		switch {
		case err1 != nil || err2 != nil:
			return nil, fmt.Errorf("%w: shown.at and shown.until must be RFC 3339 times", ErrState)
		case checkShown(at, until) != nil:
			return nil, fmt.Errorf("%w: %w", ErrState, checkShown(at, until))
		case !until.After(at):
			return nil, fmt.Errorf("%w: shown.until is not after shown.at", ErrState)
		case s.Counter > cfg.Counter || s.Counter == cfg.Counter && !cfg.Exhausted:
			return nil, fmt.Errorf("%w: shown.counter %d is not below the counter %d", ErrState, s.Counter, cfg.Counter)
		}
		cfg.Shown = &token.Press{At: at, Until: until, Counter: s.Counter, Code: s.Code, Advanced: s.Advanced}
	}
	d, err := token.NewC100(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if s := f.Shown; s != nil && d.Key().HOTP(s.Counter) != s.Code {
		return nil, fmt.Errorf("%w: shown.code is not the code of shown.counter %d", ErrState, s.Counter)
	}
	return d, nil
}

func (f *file) c200(model token.Model, serial token.Serial, alg token.Algorithm, secret []byte) (*token.C200, error) {
	for _, fl := range []struct {
		name    string
		present bool
	}{
		{"counter", f.Counter != nil}, {"exhausted", f.Exhausted != nil}, {"display", f.Display != nil},
		{"advance_while_on", f.AdvanceWhileOn != nil}, {"shown", f.Shown != nil},
	} {
		if fl.present {
			return nil, fmt.Errorf("%w: field %q belongs to a c100, not a %s", ErrState, fl.name, model)
		}
	}
	if f.Period == nil {
		return nil, fmt.Errorf("%w: a %s needs a period", ErrState, model)
	}
	if err := token.CheckPeriod(*f.Period); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	cfg := token.C200Config{Model: model, Serial: serial, Secret: secret, Algorithm: alg, Digits: f.Digits, Period: *f.Period}
	if f.T0 != nil {
		cfg.T0 = *f.T0
	}
	if f.ClockOffset != nil {
		off, err := time.ParseDuration(*f.ClockOffset)
		if err != nil {
			return nil, fieldError("clock_offset", "want a duration such as -90s", nil)
		}
		cfg.Offset = off
	}
	if f.PPM != nil {
		cfg.PPM = *f.PPM
	}
	if f.SyncedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *f.SyncedAt)
		if err != nil {
			return nil, fieldError("synced_at", "want an RFC 3339 time", nil)
		}
		if err := CheckTime("synced_at", t); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrState, err)
		}
		cfg.SyncedAt = t
	}
	d, err := token.NewC200(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	return d, nil
}

// fieldError reports a field of a state file whose text is not valid.
// It never quotes the text: a secret pasted into the wrong field would be
// printed.
func fieldError(name, want string, kind error) error {
	if kind != nil {
		return fmt.Errorf("%w: %s: %w: %s (the value is not shown: it may hold a secret)", ErrState, name, kind, want)
	}
	return fmt.Errorf("%w: %s: not valid, %s (the value is not shown: it may hold a secret)", ErrState, name, want)
}

// jsonProblem describes a JSON decoding error in one line without quoting
// the input (which holds the secret).
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not JSON (syntax error at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type (%s, want %s)", typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF):
		return "empty file"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return oneLine(err.Error()) // such as json: unknown field "x"
}

func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}

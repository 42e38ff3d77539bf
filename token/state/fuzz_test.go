package state_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

// FuzzUnmarshal: any input is either refused with an error wrapping
// ErrState that does not span lines, or accepted and then written back to
// a file that reads the same and marshals to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"version":1,"model":"app","serial":"2000000000001","algorithm":"sha-256","digits":8,"secret":"31 32","period":30,"clock_offset":"-1m30s","ppm":12.5,"synced_at":"2026-11-23T09:00:00.5+01:00"}`))
	f.Add([]byte(`{"version":1,"model":"c100","serial":"1000000000001","algorithm":"SHA1","digits":6,"secret":"31","counter":18446744073709551615,"exhausted":true}`))
	// In range as written, out of range in UTC, which is how it is written back.
	f.Add([]byte(`{"version":1,"model":"app","serial":"2000000000001","algorithm":"SHA1","digits":6,"secret":"3132","period":30,"synced_at":"9999-12-31T23:00:00-05:00"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := state.Unmarshal(b)
		if err != nil {
			if !errors.Is(err, state.ErrState) {
				t.Fatalf("error %v does not wrap ErrState", err)
			}
			if bytes.ContainsAny([]byte(err.Error()), "\n\r") {
				t.Fatalf("error %q spans lines", err)
			}
			return
		}
		out, err := state.Marshal(d)
		if err != nil {
			t.Fatalf("accepted device does not marshal: %v", err)
		}
		d2, err := state.Unmarshal(out)
		if err != nil {
			t.Fatalf("marshalled device does not read back: %v\n%s", err, out)
		}
		out2, err := state.Marshal(d2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("second round trip differs: %v\n%s\n%s", err, out, out2)
		}
	})
}

// FuzzMarshalRoundTrip: whatever device the token package lets tokensim
// make (any settings, pressed at any moment), Marshal either refuses it
// with an error wrapping ErrRange or ErrState, or writes a file that
// Unmarshal reads back into a device that marshals to the same bytes.
func FuzzMarshalRoundTrip(f *testing.F) {
	f.Add(true, []byte("12345678901234567890"), uint8(0), 6, uint64(0), int64(10e9), false, int64(1700000000), int64(0), int64(30), int64(0), int64(0), 0.0)
	f.Add(true, []byte("1"), uint8(1), 8, uint64(1<<64-1), int64(1), false, int64(253402300799), int64(999999999), int64(60), int64(-5), int64(-90e9), 12.5)
	f.Add(false, []byte("12345678901234567890"), uint8(2), 6, uint64(0), int64(0), false, int64(253402300795), int64(0), int64(30), int64(1<<62), int64(1<<63-1), -999999.0)
	f.Add(false, []byte("\x00"), uint8(0), 10, uint64(0), int64(0), false, int64(-62135596800), int64(0), int64(1), int64(0), int64(-1<<63), 0.0)
	f.Fuzz(func(t *testing.T, event bool, secret []byte, alg uint8, digits int, counter uint64, display int64, advance bool,
		sec, nsec, period, t0, offset int64, ppm float64) {
		algs := []token.Algorithm{token.SHA1, token.SHA256, token.SHA512}
		at := time.Unix(sec, nsec)
		d := &state.Device{Manufacturer: "Fuzz", VendorSerial: "v1"}
		if event {
			c, err := token.NewC100(token.C100Config{Serial: "1000000000001", Secret: secret, Algorithm: algs[int(alg)%3],
				Digits: digits, Counter: counter, Exhausted: counter == token.MaxCounter && advance,
				Display: time.Duration(display), AdvanceWhileOn: advance})
			if err != nil {
				return
			}
			if _, err := c.Press(at); err != nil {
				return
			}
			_, _ = c.Press(at.Add(time.Duration(nsec))) // may fail on an exhausted device: then the first press stays
			d.C100 = c
		} else {
			c, err := token.NewC200(token.C200Config{Model: token.ModelApp, Serial: "2000000000001", Secret: secret,
				Algorithm: algs[int(alg)%3], Digits: digits, Period: period, T0: t0, Offset: time.Duration(offset), PPM: ppm, SyncedAt: at})
			if err != nil {
				return
			}
			d.C200 = c
		}
		out, err := state.Marshal(d)
		if err != nil {
			if !errors.Is(err, state.ErrRange) && !errors.Is(err, state.ErrState) {
				t.Fatalf("Marshal: %v wraps neither ErrRange nor ErrState", err)
			}
			return
		}
		back, err := state.Unmarshal(out)
		if err != nil {
			t.Fatalf("written file does not read back: %v\n%s", err, out)
		}
		again, err := state.Marshal(back)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("read-back device marshals differently: %v\n%s\n%s", err, out, again)
		}
	})
}

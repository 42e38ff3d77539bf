package main

import (
	"bufio"
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

// FuzzParseTime: a CLI time (--at, --from) is a moment from 1970 to 9999
// that survives its own RFC 3339 form, or a one-line error that quotes
// the input.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-11-23T09:00:00Z", "1700000000", "@0", "-1", "253402300799", "253402300800", "9223372036854775807",
		"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:00:00-05:00", "1970-01-01T00:59:59+01:00", " 12 ", "now", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseTime(s)
		if err != nil {
			msg := err.Error()
			if strings.ContainsAny(msg, "\n\r") || !strings.Contains(msg, strconv.Quote(strings.TrimSpace(s))) {
				t.Fatalf("error %q spans lines or does not quote the input", msg)
			}
			return
		}
		if tm.Before(minTime) || tm.After(maxTime) {
			t.Fatalf("%q: %v is out of range", s, tm)
		}
		back, err := parseTime(tm.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(tm) {
			t.Fatalf("%q: %v does not survive its RFC 3339 form: %v, %v", s, tm, back, err)
		}
	})
}

// FuzzCodesFrom: codes --from is a counter for a c100 and a moment for a
// time token, or a one-line usage error; a moment taken gives codes.
func FuzzCodesFrom(f *testing.F) {
	for _, s := range []string{"0", "18446744073709551615", "18446744073709551616", "-1", "2026-11-23T09:00:00Z", "1700000000", "x", ""} {
		f.Add(s, true)
		f.Add(s, false)
	}
	secret := []byte("12345678901234567890")
	c100, err := token.NewC100(token.C100Config{Serial: "1000000000001", Secret: secret, Counter: 7})
	if err != nil {
		f.Fatal(err)
	}
	app, err := token.NewC200(token.C200Config{Model: token.ModelApp, Serial: "2000000000001", Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	now := func() time.Time { return t0 }
	f.Fuzz(func(t *testing.T, from string, event bool) {
		d := &state.Device{C200: app}
		if event {
			d = &state.Device{C100: c100}
		}
		counter, moment, err := parseFrom(d, from, now)
		if err != nil {
			var u usageError
			if !errors.As(err, &u) || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q: not a one-line usage error", err)
			}
			return
		}
		if event {
			want := uint64(7)
			if from != "" {
				want, _ = strconv.ParseUint(from, 10, 64)
			}
			if counter != want {
				t.Fatalf("--from %q: counter %d, want %d", from, counter, want)
			}
			return
		}
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		if err := timeCodes(w, app, moment, 2, "json"); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if n := strings.Count(out.String(), "\n"); n != 2 {
			t.Fatalf("--from %q (%v): %d codes, want 2", from, moment, n)
		}
	})
}

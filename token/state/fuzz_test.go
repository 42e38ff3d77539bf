package state_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/otplab/otplab/token/state"
)

// FuzzUnmarshal: any input is either refused with an error wrapping
// ErrState that does not span lines, or accepted and then written back to
// a file that reads the same and marshals to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"version":1,"model":"app","serial":"2000000000001","algorithm":"sha-256","digits":8,"secret":"31 32","period":30,"clock_offset":"-1m30s","ppm":12.5,"synced_at":"2026-11-23T09:00:00.5+01:00"}`))
	f.Add([]byte(`{"version":1,"model":"c100","serial":"1000000000001","algorithm":"SHA1","digits":6,"secret":"31","counter":18446744073709551615,"exhausted":true}`))
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

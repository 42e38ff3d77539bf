package gotest

import (
	"context"
	"encoding/base32"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/google/go-cmp/cmp"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/token"
)

// policy is what this verifier enforces in production, and claim says the
// same in protocol v1's terms: the suite judges the verifier against it.
var policy = Policy{
	LookAhead:    10,
	ResyncCodes:  2,
	ResyncWindow: 1000,
	LockoutAfter: 5,
	SkewBack:     1,
	SkewAhead:    1,
}

func claim(p Policy) *harness.Profile {
	return &harness.Profile{
		Kinds:      []harness.Kind{harness.HOTP, harness.TOTP},
		Algorithms: []string{"SHA1", "SHA256", "SHA512"},
		Digits:     []int{6, 8},
		LookAhead:  harness.Uint64(p.LookAhead),
		Resync:     &harness.ResyncPolicy{Codes: p.ResyncCodes, Window: p.ResyncWindow},
		Lockout:    &harness.LockoutPolicy{After: p.LockoutAfter, ResyncUnlocks: p.ResyncUnlocks},
		TOTP:       &harness.TOTPPolicy{SkewBack: p.SkewBack, SkewAhead: p.SkewAhead},
		Clock:      harness.ClockRequest, // Verify takes "now" as a parameter
	}
}

// TestConformance runs otplab's whole conformance suite against the
// verifier, one subtest per case:
//
//	go test -run 'TestConformance/rfc4226/7.4' ./examples/gotest/
//	OTPLAB_SEED=1234 go test -run TestConformance ./examples/gotest/
func TestConformance(t *testing.T) {
	harness.Run(t, conformance{New(policy)}, harness.Options{Profile: claim(policy)})
}

// conformance adapts the Verifier to harness.Verifier: the only glue a
// verifier needs. Production code never imports otplab.
type conformance struct{ v *Verifier }

var algorithms = map[token.Algorithm]otp.Algorithm{
	token.SHA1:   otp.AlgorithmSHA1,
	token.SHA256: otp.AlgorithmSHA256,
	token.SHA512: otp.AlgorithmSHA512,
}

func (c conformance) Enroll(_ context.Context, tok harness.Token) error {
	alg, ok := algorithms[tok.Algorithm]
	if !ok {
		return fmt.Errorf("enroll %s: %w: algorithm %s", tok.Serial, ErrInvalidToken, tok.Algorithm)
	}
	return c.v.Enroll(Token{
		Serial: tok.Serial, TimeBased: tok.Kind == harness.TOTP, Algorithm: alg, Digits: tok.Digits,
		Secret: tok.Secret, Counter: tok.Counter, Period: tok.Period, T0: tok.T0,
	})
}

func (c conformance) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	ok, locked := c.v.Verify(req.Serial, req.Code, req.Time)
	return harness.Reply{Accepted: ok, Locked: locked}, nil
}

func (c conformance) Resync(_ context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	ok, locked := c.v.Resync(req.Serial, req.Codes)
	return harness.Reply{Accepted: ok, Locked: locked}, nil
}

func (c conformance) Unlock(_ context.Context, serial string) error { return c.v.Unlock(serial) }

// TestPquernaTrimsSpaces shows why Verify checks the format before
// calling pquerna: pquerna accepts a code with spaces around it.
func TestPquernaTrimsSpaces(t *testing.T) {
	secret := []byte("12345678901234567890") // RFC 4226 Appendix D: code(0) = 755224
	opts := hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	tests := []struct {
		code       string
		pquerna    bool // hotp.ValidateCustom's verdict for counter 0
		verifierOK bool // Verify's verdict on a fresh token at counter 0
	}{
		{"755224", true, true},
		{" 755224", true, false},
		{"755224 ", true, false},
		{"\t755224", true, false},
		{"755224\n", true, false},
		{"+755224", false, false},
		{"٧٥٥٢٢٤", false, false},
		{"0755224", false, false},
		{"75522", false, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.code), func(t *testing.T) {
			got, _ := hotp.ValidateCustom(tt.code, 0, base32.StdEncoding.EncodeToString(secret), opts)
			if got != tt.pquerna {
				t.Errorf("pquerna accepted %q: %v, want %v", tt.code, got, tt.pquerna)
			}
			v := New(policy)
			if err := v.Enroll(Token{Serial: "1000000000001", Algorithm: otp.AlgorithmSHA1, Digits: 6, Secret: secret}); err != nil {
				t.Fatal(err)
			}
			if ok, _ := v.Verify("1000000000001", tt.code, time.Unix(0, 0)); ok != tt.verifierOK {
				t.Errorf("Verify(%q) = %v, want %v", tt.code, ok, tt.verifierOK)
			}
		})
	}
}

// TestProbeFindsTheClaim measures the verifier as a black box and checks
// that the measured profile is the one claimed above: a claim written by
// hand and a policy enforced by code cannot drift apart unnoticed.
func TestProbeFindsTheClaim(t *testing.T) {
	res, err := probe.Probe(t.Context(), conformance{New(policy)}, probe.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The probe prints the explicit form of a profile (defaults spelt out),
	// and the purposes it found served.
	want := probe.Explicit(*claim(policy))
	want.Flows = res.Profile.Flows
	if d := cmp.Diff(&want, &res.Profile); d != "" {
		var b strings.Builder
		_ = res.Table(&b)
		t.Errorf("measured profile differs from the claim (-claimed +measured):\n%s\n%s", d, b.String())
	}
}

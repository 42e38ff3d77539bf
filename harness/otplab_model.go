package harness

// The property cases of otplab/model: random sequences of token events
// played against the verifier and an exact model of the profile (the
// engine is in property.go).

// caseHotpSequences builds the case otplab/model/hotp-sequences.
func caseHotpSequences() *caseDef {
	return &caseDef{
		id:          "otplab/model/hotp-sequences",
		level:       PROFILE,
		requirement: "every reply to a random sequence of token events agrees with the declared profile (look-ahead, resync, lockout, replay, concurrency)",
		what:        "Plays random sequences of C100 events (unsubmitted presses, submits, replays, wrong codes, resync sequences, unlocks, concurrent submits, time passing at the edges of the profile's time rules) against the verifier and an exact model of the profile; a disagreement is shrunk to the shortest script and explained, and the sequences are played again under the explaining cause to find the next one.",
		property:    true,
		needs: all(needLookAhead, func(p Profile) string {
			if !p.SupportsKind(HOTP) {
				return "the profile does not claim hotp tokens"
			}
			return ""
		}),
		body: func(t *ct) { t.property(HOTP) },
	}
}

// caseTotpSequences builds the case otplab/model/totp-sequences.
func caseTotpSequences() *caseDef {
	return &caseDef{
		id:          "otplab/model/totp-sequences",
		level:       PROFILE,
		requirement: "every reply to a random sequence of time-token events agrees with the declared profile (skew window, no reuse, lockout, concurrency)",
		what:        "Plays random sequences of C200/app events (time passing, codes of steps around now, replays, wrong codes, unlocks, concurrent submits) against the verifier and an exact model of the profile; a disagreement is shrunk to the shortest script. On real time each sequence is played inside one step of the verifier's clock, clear of its boundaries (a chosen t0 places it when totp.t0 is claimed, else it waits for the next step), at the verifier's now, without the events that move the clock.",
		property:    true,
		needs:       needTOTP,
		realtime:    true,
		body: func(t *ct) {
			if t.run.realTime() {
				if why := realPropertyReason(t.period()); why != "" {
					t.skip("%s", why)
				}
			}
			t.property(TOTP)
		},
	}
}

package harness

import (
	"fmt"
	"time"
)

// Level says how strongly a case's requirement binds.
type Level string

// The requirement levels.
const (
	// MUST is an absolute requirement of the RFCs: breaking it FAILs.
	MUST Level = "MUST"
	// SHOULD is a recommendation: missing it is NON-STRICT.
	SHOULD Level = "SHOULD"
	// PROFILE is a value the verifier claims: breaking it FAILs.
	PROFILE Level = "PROFILE"
	// INFO observes without judging.
	INFO Level = "INFO"
)

// Verdict is the outcome of one case.
type Verdict string

// The verdicts.
const (
	// Pass: the verifier did what the requirement asks.
	Pass Verdict = "PASS"
	// Fail: a MUST or a claimed PROFILE value is broken.
	Fail Verdict = "FAIL"
	// NonStrict: a SHOULD is missed.
	NonStrict Verdict = "NON-STRICT"
	// Skip: not claimed, or an operation is unsupported; the reason is in
	// the messages.
	Skip Verdict = "SKIP"
	// Error: the verifier could not be judged (transport failure,
	// timeout, malformed reply).
	Error Verdict = "ERROR"
)

// ReportSchema is the version of the JSON report layout. It changes only
// when a field changes meaning or disappears.
const ReportSchema = 1

// Result is the outcome of one case.
type Result struct {
	// ID is the case's stable identifier, such as
	// "rfc4226/7.4/look-ahead-edge".
	ID string `json:"id"`
	// Section is the spec section the case belongs to: the ID without its
	// last element ("rfc4226/7.4").
	Section string `json:"section"`
	// Level is the case's requirement level.
	Level Level `json:"level"`
	// Requirement is the requirement checked, quoted from the spec or the
	// profile.
	Requirement string `json:"requirement"`
	// Verdict is the outcome.
	Verdict Verdict `json:"verdict"`
	// Messages explain the verdict in the token's terms: what was sent,
	// what came back, what was expected and why.
	Messages []string `json:"messages,omitempty"`
	// Duration is how long the case ran.
	Duration time.Duration `json:"duration_ns"`
	// Script is, for a failed property case, the shrunk sequence of token
	// events that shows the disagreement, one numbered step a line.
	Script []string `json:"script,omitempty"`
	// Seed replays the case: the property test's seed, or the seed from
	// which the case drew its tokens.
	Seed uint64 `json:"seed"`
	// Explanation, for a case that did not pass because the verifier
	// disagreed with the model, names the known policy variants that
	// explain every reply the case saw, and those that do not.
	Explanation *Explanation `json:"explanation,omitempty"`
	// hist is what the case observed, kept to test causes against it.
	hist []history
	// agreed are the property sequences that agreed with the profile's
	// model, kept to test causes against them too.
	agreed []history
}

// Explanation is what replaying a failed case's observed history through
// the model under each known variant policy found.
type Explanation struct {
	// Cause is the key of the Cause (in Report.Causes) this result is
	// grouped under, or "" when no variant explains it.
	Cause string `json:"cause,omitempty"`
	// ConsistentWith lists the variants that explain the whole history,
	// most specific first, in words ("throttling after 1 failure, delay
	// 1 s, factor 2").
	ConsistentWith []string `json:"consistent_with,omitempty"`
	// NotWith lists the variants tried that do not explain it.
	NotWith []string `json:"not_with,omitempty"`
	// keys are the variants that fit, for grouping, and loose how many
	// replies each left open (either answer correct).
	keys  []string
	loose map[string]int
	// kind is the token kind of the histories explained ("" for both).
	kind Kind
	// nodes is the number of nodes that served them (1: one verifier).
	nodes int
}

// Cause is one explanation shared by failed cases: the report lists causes
// first, so that one undeclared policy reads as one finding, not as many
// unrelated failures.
type Cause struct {
	// Key identifies the cause within the report ("throttle",
	// "on_failure-advance", "input-lenient", ...).
	Key string `json:"key"`
	// Summary says the cause in words: "a delay after failures, not
	// claimed".
	Summary string `json:"summary"`
	// Claim, when the cause is a policy the profile language can state, is
	// the profile change that claims it, as a JSON fragment
	// (`"throttle": {"after": 1, "delay": 1, "factor": 2}`). Empty for
	// causes that are defects, such as a 32-bit counter.
	Claim string `json:"claim,omitempty"`
	// Alternatives lists the keys of other variants that fit exactly the
	// same failures: the evidence cannot tell them from Key, the Summary
	// says so and no Claim is suggested.
	Alternatives []string `json:"alternatives,omitempty"`
	// Cases lists the IDs of the results grouped under this cause, in
	// catalogue order.
	Cases []string `json:"cases"`
	// candidates are the variants of Key's family that fit the same
	// failures as well, Key first: a claim that does not hold when
	// replayed gives way to the next.
	candidates []string
}

// Failed reports whether the result counts as a failure (FAIL, or
// NON-STRICT when strict is set).
func (r Result) Failed(strict bool) bool {
	return r.Verdict == Fail || (strict && r.Verdict == NonStrict)
}

// Report is the outcome of a whole run.
type Report struct {
	// Schema is ReportSchema.
	Schema int `json:"schema"`
	// Verifier names the verifier (from hello, or as the caller set it).
	Verifier string `json:"verifier"`
	// Profile is the profile the run judged against.
	Profile Profile `json:"profile"`
	// Seed is the run's seed; with it the run replays exactly.
	Seed uint64 `json:"seed"`
	// Checks is the number of property-test sequences per property case.
	Checks int `json:"checks"`
	// Started is when the run began (wall clock).
	Started time.Time `json:"started"`
	// Duration is the run's length.
	Duration time.Duration `json:"duration_ns"`
	// ClockSet is set when the verifier reads its own clock and the
	// adapter set that clock to each request's time, so a "wall" profile
	// was judged on simulated time.
	ClockSet bool `json:"clock_set,omitempty"`
	// ClockCheck, when the harness set the verifier's clock, says what a
	// sentinel TOTP token verified of it before the cases ran: the times
	// at which it follows, and what it reads where it does not. ClockSet
	// stays set unless the clock was found not to follow at all (verdict
	// "real time"): the verifier was then judged on real time, and
	// ClockNote carries the warning.
	ClockCheck *ClockCheck `json:"clock_check,omitempty"`
	// ClockOffset is the verifier's clock minus the local clock in
	// seconds, to one 30 s step, when the run judged a verifier on its
	// own clock in real time and measured it; nil otherwise.
	ClockOffset *int64 `json:"clock_offset,omitempty"`
	// ClockNote says how the clock offset was measured, or why not.
	ClockNote string `json:"clock_note,omitempty"`
	// Interrupted is set when the run was stopped before every case ran
	// (context cancelled); the missing cases are absent from Results.
	Interrupted bool `json:"interrupted,omitempty"`
	// Results holds one entry per case that ran, in catalogue order.
	Results []Result `json:"results"`
	// Causes groups the failed results by what explains them, largest
	// group first. Results that no known variant explains are in no cause.
	Causes []Cause `json:"causes,omitempty"`
}

// Counts tallies results by verdict.
type Counts struct {
	Pass, Fail, NonStrict, Skip, Error int
}

// Counts tallies the report's results.
func (r *Report) Counts() Counts {
	var c Counts
	for _, res := range r.Results {
		switch res.Verdict {
		case Pass:
			c.Pass++
		case Fail:
			c.Fail++
		case NonStrict:
			c.NonStrict++
		case Skip:
			c.Skip++
		case Error:
			c.Error++
		}
	}
	return c
}

// String is the closing line of a run: "N passed, N failed", then the
// other verdicts.
func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d non-strict, %d skipped, %d errors", c.Pass, c.Fail, c.NonStrict, c.Skip, c.Error)
}

// Complete reports whether every case ran and none ended in ERROR.
func (r *Report) Complete() bool { return !r.Interrupted && r.Counts().Error == 0 }

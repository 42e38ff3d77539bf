package report_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/probe"
	"github.com/otplab/otplab/harness/report"
)

// Seeds past 2^53, which a double cannot hold: JSON readers in
// JavaScript must read them from the *_string fields.
const (
	runSeed  uint64 = 18446744073709551557 // the largest prime below 2^64
	caseSeed uint64 = 9007199254740993     // 2^53+1
)

// fakeReport is a run with every kind of result, causes, and results
// listed out of catalogue order.
func fakeReport() *harness.Report {
	max := uint64(1<<64 - 1)
	la := uint64(10)
	r := func(id string, level harness.Level, v harness.Verdict, msgs ...string) harness.Result {
		return harness.Result{ID: id, Section: id[:lastSlash(id)], Level: level, Requirement: "requirement of " + id,
			Verdict: v, Messages: msgs, Duration: 1500 * time.Microsecond, Seed: caseSeed}
	}
	throttle := harness.Explanation{Cause: "throttle", ConsistentWith: []string{"throttling after 1 failure, delay 1 s, factor 2"}, NotWith: []string{"lockout after 5 failures"}}
	double := harness.Explanation{Cause: "counter-double", ConsistentWith: []string{"counters kept as IEEE doubles"}}
	results := []harness.Result{
		// Deliberately not in catalogue order: otplab/model comes last
		// in the catalogue, rfc4226/5.4 first.
		withScript(withExplanation(r("otplab/model/hotp-sequences", harness.PROFILE, harness.Fail, "1. enrolled ...\n=> accepted, expected rejected: the profile claims look_ahead 10"), throttle)),
		r("rfc6238/5.2/skew-back-edge", harness.PROFILE, harness.Skip, "the profile claims no totp"),
		withExplanation(r("rfc4226/5.1/counter-2^53", harness.MUST, harness.Fail, "5. submitted the code of counter 9007199254740993 (2^53+1) \"310280\"\n=> rejected, expected accepted: it is the next expected code"), double),
		r("rfc4226/5.4/appendix-d", harness.MUST, harness.Pass),
		withExplanation(r("rfc4226/7.3/lockout-after-f", harness.PROFILE, harness.Fail, "=> rejected <b>&amp; 'locked'</b>: the throttle refused it"), throttle),
		withExplanation(r("rfc4226/5.1/counter-2^64", harness.MUST, harness.Fail, "=> enroll refused"), double),
		r("rfc4226/5.3/input-plus-sign", harness.MUST, harness.NonStrict, "=> accepted \"+755224\""),
		r("rfc4226/7.2/concurrent-same-code", harness.MUST, harness.Error, "check: no reply: context deadline exceeded"),
		r("rfc4226/7.4/look-ahead-edge", harness.PROFILE, harness.Pass),
		r("rfc4226/5.1/counter-2^32", harness.MUST, harness.Pass),
	}
	return &harness.Report{
		Schema: harness.ReportSchema, Verifier: "fake <verifier>", Seed: runSeed, Checks: 100,
		Profile: harness.Profile{Kinds: []harness.Kind{harness.HOTP}, Counters: &harness.CounterRange{Min: 0, Max: max}, LookAhead: &la},
		Started: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), Duration: 3 * time.Second, Results: results,
		Causes: []harness.Cause{
			{Key: "throttle", Summary: "a delay after failures, not claimed", Claim: `"throttle": {"after": 1, "delay": 1, "factor": 2}`,
				Cases: []string{"rfc4226/7.3/lockout-after-f", "otplab/model/hotp-sequences"}},
			{Key: "counter-double", Summary: "counters kept as IEEE doubles: exact only up to 2^53",
				Cases: []string{"rfc4226/5.1/counter-2^53", "rfc4226/5.1/counter-2^64"}},
		},
	}
}

func withExplanation(r harness.Result, x harness.Explanation) harness.Result {
	r.Explanation = &x
	return r
}

func withScript(r harness.Result) harness.Result {
	r.Script = []string{"1. enroll a C100 at counter 0", "2. press 11 times and submit the last code: accepted"}
	return r
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return 0
}

// fakeOptions judges fakeReport: counter-2^64 is a known failure, the
// ERROR case is listed (and so not judged), and look-ahead-edge is
// listed but passed.
func fakeOptions() report.Options {
	return report.Options{
		Spec: "http://127.0.0.1:8080/otp", Selected: 12, ExpectFile: "known.txt",
		Expect: map[string]report.Expectation{
			"rfc4226/5.1/counter-2^64":         {ID: "rfc4226/5.1/counter-2^64", Expected: "FAIL", Got: harness.Fail, Kind: report.Known, Line: 1},
			"rfc4226/7.2/concurrent-same-code": {ID: "rfc4226/7.2/concurrent-same-code", Expected: "FLAKY", Got: harness.Error, Kind: report.NotJudged, Line: 2},
			"rfc4226/7.4/look-ahead-edge":      {ID: "rfc4226/7.4/look-ahead-edge", Expected: "FAIL", Got: harness.Pass, Kind: report.UnexpectedPass, Line: 3},
		},
		Replay: func(id string, seed uint64) string {
			return fmt.Sprintf("conformance run --verifier http://127.0.0.1:8080/otp --run '^%s$' --seed %d", id, seed)
		},
	}
}

// fakeProbe is a probe result with one chart row.
func fakeProbe() *probe.Result {
	return &probe.Result{Name: "fake <verifier>", Seed: 7, Requests: 42,
		Findings: []probe.Finding{{Name: "look_ahead", Value: "10", Certainty: "exact", Requests: 12}},
		Series:   []probe.Series{{Name: "look-ahead", Unit: "offset k from c", Points: []probe.Point{{X: 9, Accepted: true}, {X: 10, Accepted: true}, {X: 11}}}},
	}
}

var errHello = errors.New("verifier did not answer hello: hello: transport failure: verifier sh ended (exit status 1)")

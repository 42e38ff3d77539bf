package harness

import (
	"slices"
	"strings"

	"github.com/otplab/otplab/token"
)

// caseDef is one case of the catalogue.
type caseDef struct {
	id          string
	level       Level
	requirement string
	what        string
	ops         []string             // operations the case needs besides enroll and check
	needs       func(Profile) string // a non-empty reason skips the case
	property    bool
	body        func(*ct)
	// source, when set, is the function that holds the case's own code
	// when body only wraps it (a case shape such as policyCase passes the
	// function it was given): docs/cases.md names the file of source
	// instead of that of the shape.
	source any
	// level, when set, gives the level under a profile instead of the
	// static one: input rules are MUST only when exactness is claimed.
	dynLevel func(Profile) Level
	// why, when set, says why the case has its level (docs/cases.md).
	why string
	// gate, when set, is the ID of an earlier case whose SKIP speaks for
	// this one: when both skip for the same reason, this one is left out
	// of the run, so a section that does not apply says so once.
	gate string
	// realtime is set on cases whose body places its codes with
	// t.stepNow, so a verifier on its own clock is judged on the real
	// clock instead of skipping them.
	realtime bool
	// realtimeIf, when set, makes the case realtime under the profiles
	// for which it reports true (the input cases, which use a TOTP token
	// when the profile does not claim HOTP).
	realtimeIf func(Profile) bool
	// fixedClock, when set, names the clock the case needs on fixed
	// dates or moved back: on real time it SKIPs with that reason.
	fixedClock string
	// clockAt, when set, lists the simulated times (Unix seconds) the case
	// needs the verifier's clock at, besides the present simulated time
	// every case uses: a clock the harness sets is checked at these times
	// before the cases run (clockcheck.go), and a time it cannot reach
	// SKIPs the case. With clockRows, the case SKIPs only when it reaches
	// none of them, and its body leaves the unreached times unjudged
	// (t.clockUnreached).
	clockAt   func(Profile) []int64
	clockRows bool
}

// onRealTime reports whether the case places its codes on the verifier's
// clock under profile p, so that a verifier on its own clock is judged on
// real time instead of skipping it.
func (c *caseDef) onRealTime(p Profile) bool {
	return c.realtime || c.realtimeIf != nil && c.realtimeIf(p)
}

// levelReason says why the case has its level.
func (c *caseDef) levelReason() string {
	if c.why != "" {
		return c.why
	}
	switch c.level {
	case MUST:
		return "an RFC requirement whose break opens an attack or corrupts the counter"
	case PROFILE:
		if c.property {
			return "the claimed profile, every field at once"
		}
		return "a claimed value; SKIPs when not claimed"
	case SHOULD:
		return "robustness, not an attack"
	}
	return "observes only"
}

// levelFor returns the case's level under profile p.
func (c *caseDef) levelFor(p Profile) Level {
	if c.dynLevel != nil {
		return c.dynLevel(p)
	}
	return c.level
}

// section is the ID without its last element.
func (c *caseDef) section() string {
	i := strings.LastIndexByte(c.id, '/')
	if i < 0 {
		return c.id
	}
	return c.id[:i]
}

// CaseInfo describes a case of the catalogue.
type CaseInfo struct {
	// ID is stable across releases; it never encodes a position.
	ID string `json:"id"`
	// Section is the spec section: the ID without its last element.
	Section string `json:"section"`
	// Level is MUST, SHOULD, PROFILE or INFO.
	Level Level `json:"level"`
	// Requirement is what the case checks, quoted from the spec or the
	// profile's meaning.
	Requirement string `json:"requirement"`
	// What says what the case does to the verifier.
	What string `json:"what"`
	// LevelWhy says why the case has its level, and how a profile can
	// change it.
	LevelWhy string `json:"level_why"`
}

// Cases returns the catalogue in run order.
func Cases() []CaseInfo {
	var out []CaseInfo
	for _, c := range catalogue() {
		out = append(out, CaseInfo{ID: c.id, Section: c.section(), Level: c.level, Requirement: c.requirement, What: c.what, LevelWhy: c.levelReason()})
	}
	return out
}

// catalogue builds the case list in run order. It is cheap, so it is built
// on demand instead of kept in a package variable.
//
// Each case is built in the file of its ID's section (rfc4226_7_4.go holds
// the rfc4226/7.4 cases, otplab_flows.go the otplab/flows cases, and so
// on; see the package documentation); this list alone fixes the order in
// which they run and are reported.
func catalogue() []*caseDef {
	return slices.Concat(
		[]*caseDef{
			caseAppendixD(),
			caseDigits8(),
			hotpAlgorithmCase(token.SHA256),
			hotpAlgorithmCase(token.SHA512),
			caseCurrentCode(),
			caseReplayAcceptedCode(),
			caseReplayOlderCode(),
			caseRejectKeepsCounter(),
			caseLookAheadEdge(),
			caseLookAheadBeyond(),
			caseLookAheadMovesCounter(),
			caseLookAheadWindowMoves(),
			caseUnknownSerial(),
			counterCase("2^32", 1<<32, "counters stored in 32-bit integers wrap to 0 here"),
			counterCase("2^53", 1<<53, "counters stored as IEEE doubles (JavaScript numbers) lose the last bit here"),
			counterCase("2^63", 1<<63, "counters stored as signed 64-bit integers (SQL BIGINT, Java long) overflow here"),
			caseCounter2To64(),
			caseResyncEdge(),
			caseResyncBeyond(),
			caseResyncGap(),
			caseResyncReversed(),
			caseResyncSameCodeTwice(),
			caseResyncBehindCounter(),
			caseResyncFirstIsLastUsed(),
			caseResyncReplayAfterResync(),
			caseResyncPartlyInWindow(),
			caseResyncChanceCollision(),
			caseLockoutAfterF(),
			caseLockoutNotBeforeF(),
			caseLockoutHolds(),
			caseLockoutUnlock(),
			caseLockoutSuccessResets(),
			caseLockoutRepeatedBadCode(),
			caseLockoutRejectedResyncNotCounted(),
			caseLockoutResyncWhileLocked(),
			caseGuessingLimit(),
			caseGuessingLimitTotp(),
			caseThrottleRefuses(),
			caseThrottleGrows(),
			caseThrottleRefusedNotCounted(),
			caseThrottleSuccessResets(),
			caseThrottleResyncRefused(),
			caseRateLimitRefuses(),
			caseRateLimitCountsRefused(),
			caseRateLimitUnlockClears(),
			caseRateLimitResyncNotLimited(),
			caseLockoutRelease(),
			caseLockoutReleaseResetsCount(),
			caseLockoutCountsResync(),
			caseAutoResyncAccepts(),
			caseAutoResyncTimeout(),
			caseAutoResyncGap(),
			caseAutoResyncUsedUp(),
		},
		hygieneCases(),
		[]*caseDef{
			caseConcurrentSameCode(),
			caseConcurrentNeighbours(),
			caseResyncOneCodeShort(),
			caseResyncOneCodeExtra(),
			caseResyncLastWrong(),
			caseConcurrentSameResync(),
			caseConcurrentResyncAndCheck(),
			caseConcurrentLockout(),
			caseReEnrollReplaces(),
			casePurposes(),
			caseSpentForAll(),
			caseRejectedStillGood(),
			caseFailuresLock(),
			caseLockedRefusesAll(),
			caseFailuresThrottle(),
			caseResyncAll(),
			caseConcurrentTwoPurposes(),
			caseResyncSingleEdge(),
			caseResyncSingleBehind(),
			caseResyncSingleCount(),
			caseResyncSingleGuessing(),
			totpVectorCase(token.SHA1),
			totpVectorCase(token.SHA256),
			totpVectorCase(token.SHA512),
			caseCurrentStep(),
			skewCase("back-edge", true, 0, true),
			skewCase("back-beyond", true, 1, false),
			skewCase("ahead-edge", false, 0, true),
			skewCase("ahead-beyond", false, 1, false),
			caseReuseSameStep(),
			caseReuseOlderStep(),
			caseT0Nonzero(),
			casePeriod60(),
			caseYear2603(),
			caseReuseClockBack(),
			caseDriftFollows(),
			caseDriftWalk(),
			caseSkewLearningAccepts(),
			caseSkewLearningReplayRejected(),
			caseSkewLearningNotSuccessive(),
			caseHotpSequences(),
			caseTotpSequences(),
		},
	)
}

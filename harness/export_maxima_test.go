package harness

// The documented maxima of the profile language, for the tests of
// package harness_test.
const (
	MaxLookAheadForTest        = maxLookAhead
	MaxResyncWindowForTest     = maxResyncWindow
	MaxAutoResyncWindowForTest = maxAutoResyncWindow
	MaxResyncCodesForTest      = maxResyncCodes
	MaxLockoutForTest          = maxLockout
	MaxSkewForTest             = maxSkew
	MaxSecondsForTest          = maxSeconds
	MaxFactorForTest           = maxFactor
	MaxAttemptsForTest         = maxAttempts
	MaxSkewRangeForTest        = maxSkewRange
	MaxTOTPResyncRangeForTest  = maxTOTPResyncRange
	MaxPeriodForTest           = maxPeriod
)

//go:build race

package harness_test

// raceEnabled is set when the tests run under the race detector, which
// makes the harness five to ten times slower: the tests that judge whole
// suites' verdicts are then skipped (withoutRace) or reduced, and `make
// test` runs them in full without it.
const raceEnabled = true

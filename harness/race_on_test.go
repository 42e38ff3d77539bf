//go:build race

package harness_test

// raceEnabled is set when the tests run under the race detector, which
// makes the many-seed collision guards several times slower: they then
// run a few seeds, and `make test` runs them in full without it.
const raceEnabled = true

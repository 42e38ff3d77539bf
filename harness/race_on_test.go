//go:build race

package harness_test

// raceEnabled is set when the tests run under the race detector, which
// makes the harness several times slower: the many-seed collision guards
// then run a few seeds, and the whole-suite self-tests fewer property
// sequences (fullChecks); `make test` runs them in full without it.
const raceEnabled = true

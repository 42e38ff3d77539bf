package harness

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// firstDraws returns the first value each example of a property run with
// the given seed draws, the run alone.
func firstDraws(t *testing.T, seed uint64, checks int) []uint64 {
	var got []uint64
	noFail := true
	rapidRuns.check(t, func(rt *rapid.T) {
		got = append(got, rapid.Uint64().Draw(rt, "x"))
	}, seed, checks, &noFail)
	return got
}

// Property runs overlap: two runs, each waiting inside its property for
// the other to be inside its own, both finish (one lock held for a whole
// run, as before, deadlocks here); each keeps its own seed and number of
// checks; rapid's flags are as they were afterwards.
func TestRapidRunsOverlap(t *testing.T) {
	before := map[string]string{}
	for _, f := range []string{"rapid.seed", "rapid.checks", "rapid.nofailfile"} {
		before[f] = flagValue(f)
	}
	alone := map[uint64][]uint64{11: firstDraws(t, 11, 5), 12: firstDraws(t, 12, 7)}
	require.Len(t, alone[11], 5)
	require.Len(t, alone[12], 7)
	require.NotEqual(t, alone[11][0], alone[12][0])

	inside := map[uint64]chan struct{}{11: make(chan struct{}), 12: make(chan struct{})}
	other := map[uint64]uint64{11: 12, 12: 11}
	var mu sync.Mutex
	got := map[uint64][]uint64{}
	var wg sync.WaitGroup
	for seed, checks := range map[uint64]int{11: 5, 12: 7} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			noFail := true
			var once sync.Once
			rapidRuns.check(t, func(rt *rapid.T) {
				x := rapid.Uint64().Draw(rt, "x")
				mu.Lock()
				got[seed] = append(got[seed], x)
				mu.Unlock()
				once.Do(func() {
					close(inside[seed])
					select {
					case <-inside[other[seed]]:
					case <-time.After(30 * time.Second):
						t.Errorf("the run of seed %d never ran while the run of seed %d did", other[seed], seed)
					}
				})
			}, seed, checks, &noFail)
		}()
	}
	wg.Wait()
	assert.Equal(t, alone, got, "each run draws what it draws alone")
	for f, v := range before {
		assert.Equal(t, v, flagValue(f), "flag %s restored", f)
	}
}

// The fail-file setting is the one of the run that starts when none is in
// progress; a run that starts while it is in progress shares it without
// waiting (a harness run inside a caller's rapid.Check must not wait for
// the check around it), and the setting is put back when the last ends.
func TestRapidRunsFailFileSetting(t *testing.T) {
	before := flagValue("rapid.nofailfile")
	yes, no := true, false
	entered := make(chan struct{})
	release := make(chan struct{})
	var firstSaw, secondSaw string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var once sync.Once
		rapidRuns.check(t, func(rt *rapid.T) {
			rapid.Bool().Draw(rt, "b")
			once.Do(func() {
				firstSaw = flagValue("rapid.nofailfile")
				close(entered)
				<-release
			})
		}, 1, 3, &yes)
	}()
	<-entered
	// Nested in the first run's property, as a harness run inside a
	// rapid.Check is: it must not wait for the first to end.
	var once sync.Once
	rapidRuns.check(t, func(rt *rapid.T) {
		rapid.Bool().Draw(rt, "b")
		once.Do(func() { secondSaw = flagValue("rapid.nofailfile") })
	}, 2, 3, &no)
	close(release)
	wg.Wait()
	assert.Equal(t, "true", firstSaw)
	assert.Equal(t, "true", secondSaw, "shared with the run in progress")
	assert.Equal(t, before, flagValue("rapid.nofailfile"), "put back")
	var thirdSaw string
	rapidRuns.check(t, func(rt *rapid.T) {
		rapid.Bool().Draw(rt, "b")
		thirdSaw = flagValue("rapid.nofailfile")
	}, 3, 1, &no)
	assert.Equal(t, "false", thirdSaw)
}

package harness

import (
	"flag"
	"strconv"
	"sync"

	"pgregory.net/rapid"
)

// rapid takes its seed, its number of checks and whether it writes a fail
// file from package flags of its own, which are the process's: a property
// run sets them, and they are shared by every property run of the process
// (several harness runs at once, the cases of one run, a caller's own
// rapid.Check). rapid reads the seed and the number of checks once, as a
// check starts and before it first calls the property, and whether to
// write a fail file only after a failure was shrunk. So the starts of
// property runs go one at a time, each with its own seed and number of
// checks, restored at the property's first call, and the runs themselves
// overlap. The fail-file setting is set by the run that starts when none
// is in progress, and put back when the last ends; a run that starts
// while others are in progress shares theirs, whatever it asked for
// (waiting for them could deadlock: a harness run inside a caller's
// rapid.Check waits for nothing). Before this, one lock held for a whole
// run serialised every property run of the process, real-time ones with
// their seconds of waiting included.
var rapidRuns = &rapidFlags{}

// rapidFlags coordinates the property runs of the process around rapid's
// package flags (see rapidRuns).
type rapidFlags struct {
	mu   sync.Mutex
	cond *sync.Cond
	// starting is set while a run is between setting the seed and the
	// number of checks and its property's first call.
	starting bool
	// active counts the runs in progress.
	active int
	// restore is the fail-file setting to put back when the last run in
	// progress ends ("": leave it).
	restore string
}

// start waits until no other run is starting, sets the flags of set and,
// when no run is in progress, the fail-file setting (nil: leave it). It
// returns started, to call as the property is first called (it restores
// the flags of set and lets the next run start; calls after the first do
// nothing), and done, to call when the run has ended (it calls started if
// nothing did).
func (r *rapidFlags) start(noFailFile *bool, set map[string]string) (started, done func()) {
	r.mu.Lock()
	if r.cond == nil {
		r.cond = sync.NewCond(&r.mu)
	}
	for r.starting {
		r.cond.Wait()
	}
	if r.active == 0 && noFailFile != nil {
		if cur, want := flagValue("rapid.nofailfile"), strconv.FormatBool(*noFailFile); cur != want {
			r.restore = cur
			setFlag("rapid.nofailfile", want)
		}
	}
	r.starting = true
	r.active++
	old := map[string]string{}
	for name, v := range set {
		if flag.Lookup(name) == nil {
			continue
		}
		old[name] = flagValue(name)
		setFlag(name, v)
	}
	r.mu.Unlock()
	var once sync.Once
	started = func() {
		once.Do(func() {
			r.mu.Lock()
			for name, v := range old {
				setFlag(name, v)
			}
			r.starting = false
			r.cond.Broadcast()
			r.mu.Unlock()
		})
	}
	done = func() {
		started()
		r.mu.Lock()
		r.active--
		if r.active == 0 && r.restore != "" {
			setFlag("rapid.nofailfile", r.restore)
			r.restore = ""
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	}
	return started, done
}

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

func setFlag(name, v string) {
	if f := flag.Lookup(name); f != nil {
		_ = f.Value.Set(v)
	}
}

// check runs rapid.Check(tb, prop) with the seed, the number of checks and
// the fail-file setting given (nil: as it is), alongside the process's
// other property runs (see rapidRuns).
func (r *rapidFlags) check(tb rapid.TB, prop func(*rapid.T), seed uint64, checks int, noFailFile *bool) {
	started, done := r.start(noFailFile, map[string]string{
		"rapid.seed":   strconv.FormatUint(seed, 10),
		"rapid.checks": strconv.Itoa(checks),
	})
	defer done()
	rapid.Check(tb, func(rt *rapid.T) {
		started()
		prop(rt)
	})
}

// RapidCheck is rapid.Check(t, prop) for a test program that runs harness
// runs at the same time (parallel tests, say): rapid keeps its settings in package
// flags, which a harness run sets for an instant as each of its property
// cases starts, so a rapid.Check of the caller's own could read them as
// they are written. RapidCheck waits for that instant to pass and keeps
// the settings still for the moments rapid reads them; the check itself
// runs alongside the harness runs, with rapid's own settings (-rapid.checks,
// -rapid.seed and the rest).
func RapidCheck(t rapid.TB, prop func(*rapid.T)) {
	t.Helper()
	started, done := rapidRuns.start(nil, nil)
	defer done()
	rapid.Check(t, func(rt *rapid.T) {
		started()
		prop(rt)
	})
}

package harness_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// cpythonMax is the last second CPython's 64-bit nanosecond clock holds:
// 2262-04-11T23:47:16Z.
const cpythonMax = (1<<63 - 1) / 1_000_000_000

// timeCases are the TOTP cases at fixed dates (1970 to 2603) and one at
// the present simulated time.
var timeCases = regexp.MustCompile(`^rfc6238/4\.2/(appendix-b-sha1|appendix-b-sha256|year-2603|current-step)$`)

// byID indexes a report's results.
func byID(rep *harness.Report) map[string]harness.Result {
	out := map[string]harness.Result{}
	for _, r := range rep.Results {
		out[r.ID] = r
	}
	return out
}

// TestClockCheckFollows: the reference on a ManualClock follows at every
// time the selected cases need, from 59 s to 2603, and the report says so.
func TestClockCheckFollows(t *testing.T) {
	t.Parallel()
	wall := wallProfile()
	clk := &harness.ManualClock{}
	v, err := reference.New(wall, reference.WithClock(clk.Now))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 5, SetClock: clk.Set, Run: timeCases})
	require.NoError(t, err)
	require.NotNil(t, rep.ClockCheck)
	assert.Equal(t, harness.ClockFollows, rep.ClockCheck.Verdict, rep.ClockCheck.Note)
	assert.True(t, rep.ClockSet)
	assert.Empty(t, rep.ClockCheck.Misses)
	fol := rep.ClockCheck.Follows
	require.NotEmpty(t, fol)
	assert.Equal(t, int64(59), fol[0], "the earliest time: Appendix B's first row")
	assert.GreaterOrEqual(t, fol[len(fol)-1], int64(19_999_999_980), "the latest: the step of the year 2603")
	for _, r := range rep.Results {
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %v", r.ID, r.Messages)
	}
}

// TestClockCheckNotSelectedNotChecked: the times of cases not selected are
// not checked.
func TestClockCheckNotSelectedNotChecked(t *testing.T) {
	t.Parallel()
	clk := &harness.ManualClock{}
	v, err := reference.New(wallProfile(), reference.WithClock(clk.Now))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 5, SetClock: clk.Set, Run: regexp.MustCompile(`^rfc6238/4\.2/current-step$`)})
	require.NoError(t, err)
	require.NotNil(t, rep.ClockCheck)
	assert.Len(t, rep.ClockCheck.Follows, 1, "only the present simulated time: %v", rep.ClockCheck.Follows)
}

// TestClockCheckSaturates plants a clock that stops at CPython's limit
// (2262): the times past it SKIP with the reason, the Appendix B rows
// before it are judged, and nothing FAILs.
func TestClockCheckSaturates(t *testing.T) {
	t.Parallel()
	wall := wallProfile()
	clk := &harness.ManualClock{}
	v, err := reference.New(wall, reference.WithClock(func() time.Time {
		return time.Unix(min(clk.Now().Unix(), cpythonMax), 0)
	}))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 6, SetClock: clk.Set, Run: timeCases})
	require.NoError(t, err)
	c := rep.ClockCheck
	require.NotNil(t, c)
	assert.Equal(t, harness.ClockPartial, c.Verdict, c.Note)
	assert.True(t, rep.ClockSet, "judged on the clock the harness sets where it follows")
	require.Len(t, c.Misses, 1, "%+v", c.Misses)
	m := c.Misses[0]
	require.NotNil(t, m.Reads, m.Reason)
	assert.InDelta(t, cpythonMax, *m.Reads, 60, "the stop found to a step")
	assert.Contains(t, m.Reason, "2262-04-11")
	assert.Contains(t, m.Reason, "CPython")
	res := byID(rep)
	y := res["rfc6238/4.2/year-2603"]
	assert.Equal(t, harness.Skip, y.Verdict, "%v", y.Messages)
	assert.Contains(t, strings.Join(y.Messages, " "), "does not reach")
	assert.Contains(t, strings.Join(y.Messages, " "), `clock "request"`, "says what would fix it")
	for _, id := range []string{"rfc6238/4.2/appendix-b-sha1", "rfc6238/4.2/appendix-b-sha256"} {
		r := res[id]
		assert.Equal(t, harness.Pass, r.Verdict, "%s: %v", id, r.Messages)
		assert.Contains(t, strings.Join(r.Messages, " "), "not judged: time 20000000000", "%s says which row it left", id)
	}
	assert.Equal(t, harness.Pass, res["rfc6238/4.2/current-step"].Verdict)
}

// refusingPast is the reference on a clock the harness sets, whose checks
// past CPython's limit end in an application error, as a Python verifier
// on time.time() does under libfaketime (OverflowError).
type refusingPast struct {
	*reference.Verifier
	clk *harness.ManualClock
}

func (o refusingPast) Check(ctx context.Context, r harness.CheckRequest) (harness.Reply, error) {
	if o.clk.Now().Unix() > cpythonMax {
		return harness.Reply{}, &harness.RefusedError{Op: "check", Message: "OverflowError: timestamp out of range for platform time_t"}
	}
	return o.Verifier.Check(ctx, r)
}

// TestClockCheckRefusedPastDate: a verifier that answers with an error
// once its clock is set past 2262 has the times past it out of reach: the
// cases that need them SKIP with its error and what would fix it, the
// rows before it are judged, and nothing FAILs.
func TestClockCheckRefusedPastDate(t *testing.T) {
	t.Parallel()
	clk := &harness.ManualClock{}
	ref, err := reference.New(wallProfile(), reference.WithClock(clk.Now))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), refusingPast{ref, clk}, harness.Options{Seed: 6, SetClock: clk.Set, Run: timeCases})
	require.NoError(t, err)
	c := rep.ClockCheck
	require.NotNil(t, c)
	assert.Equal(t, harness.ClockPartial, c.Verdict, c.Note)
	require.Len(t, c.Misses, 1, "%+v", c.Misses)
	assert.Contains(t, c.Misses[0].Refused, "OverflowError")
	res := byID(rep)
	y := res["rfc6238/4.2/year-2603"]
	assert.Equal(t, harness.Skip, y.Verdict, "%v", y.Messages)
	assert.Contains(t, strings.Join(y.Messages, " "), "OverflowError")
	assert.Contains(t, strings.Join(y.Messages, " "), `clock "request"`)
	for _, id := range []string{"rfc6238/4.2/appendix-b-sha1", "rfc6238/4.2/appendix-b-sha256", "rfc6238/4.2/current-step"} {
		assert.Equal(t, harness.Pass, res[id].Verdict, "%s: %v", id, res[id].Messages)
	}
}

// TestClockCheckNotFollowing: a verifier that reads real time whatever the
// harness sets is judged on real time, with a warning, and never FAILs.
func TestClockCheckNotFollowing(t *testing.T) {
	t.Parallel()
	wall := wallProfile()
	clk := &harness.ManualClock{}
	v, err := reference.New(wall) // reads time.Now
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 7, SetClock: clk.Set, Run: timeCases})
	require.NoError(t, err)
	c := rep.ClockCheck
	require.NotNil(t, c)
	assert.Equal(t, harness.ClockRealTime, c.Verdict, c.Note)
	assert.False(t, rep.ClockSet, "not judged on the clock the harness sets")
	assert.Contains(t, rep.ClockNote, "warning")
	assert.Contains(t, rep.ClockNote, "real time")
	for _, m := range c.Misses {
		assert.True(t, m.RealTime, "%+v", m)
	}
	for _, r := range rep.Results {
		assert.NotEqual(t, harness.Fail, r.Verdict, "%s: %v", r.ID, r.Messages)
		assert.NotEqual(t, harness.Error, r.Verdict, "%s: %v", r.ID, r.Messages)
	}
	assert.Equal(t, harness.Pass, byID(rep)["rfc6238/4.2/current-step"].Verdict, "judged on real time")
}

// TestClockCheckWrapIsJudged: a verifier whose time wraps at 2^31 (a
// 32-bit time) follows up to 2038 but does not stop there: the check
// cannot blame the clock, and the year-2603 case FAILs as it must.
func TestClockCheckWrapIsJudged(t *testing.T) {
	t.Parallel()
	wall := wallProfile()
	clk := &harness.ManualClock{}
	v, err := reference.New(wall, reference.WithClock(func() time.Time {
		return time.Unix(int64(uint32(clk.Now().Unix())), 0)
	}))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 8, SetClock: clk.Set,
		Run: regexp.MustCompile(`^rfc6238/4\.2/(year-2603|appendix-b-sha1)$`)})
	require.NoError(t, err)
	c := rep.ClockCheck
	require.NotNil(t, c)
	for _, m := range c.Misses {
		assert.Nil(t, m.Reads, "a wrapping time is no stopped clock: %s", m.Reason)
	}
	res := byID(rep)
	assert.Equal(t, harness.Fail, res["rfc6238/4.2/year-2603"].Verdict, "%v", res["rfc6238/4.2/year-2603"].Messages)
	assert.Equal(t, harness.Fail, res["rfc6238/4.2/appendix-b-sha1"].Verdict)
}

// acceptAll accepts every code: it shows nothing about its clock.
type acceptAll struct{}

func (acceptAll) Enroll(context.Context, harness.Token) error { return nil }
func (acceptAll) Check(context.Context, harness.CheckRequest) (harness.Reply, error) {
	return harness.Reply{Accepted: true}, nil
}
func (acceptAll) Resync(context.Context, harness.ResyncRequest) (harness.Reply, error) {
	return harness.Reply{Accepted: true}, nil
}
func (acceptAll) Unlock(context.Context, string) error { return nil }

// TestClockCheckAcceptAll: a verifier that accepts a code a million steps
// away is not "following": the check says it could not verify the clock.
func TestClockCheckAcceptAll(t *testing.T) {
	t.Parallel()
	wall := wallProfile()
	clk := &harness.ManualClock{}
	rep, err := harness.Execute(t.Context(), acceptAll{}, harness.Options{Profile: &wall, Seed: 9, SetClock: clk.Set,
		Run: regexp.MustCompile(`^rfc6238/4\.2/year-2603$`)})
	require.NoError(t, err)
	c := rep.ClockCheck
	require.NotNil(t, c)
	assert.Equal(t, harness.ClockUnverified, c.Verdict)
	assert.Contains(t, c.Note, "steps away")
	assert.Empty(t, c.Follows)
}

// TestClockCheckHOTPOnly: with no TOTP tokens claimed there is no
// sentinel; the check says so and the run goes on.
func TestClockCheckHOTPOnly(t *testing.T) {
	t.Parallel()
	p := wallProfile()
	p.Kinds = []harness.Kind{harness.HOTP}
	p.TOTP = nil
	clk := &harness.ManualClock{}
	v, err := reference.New(p, reference.WithClock(clk.Now))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 9, SetClock: clk.Set, Run: regexp.MustCompile(`^rfc4226/5\.3/`)})
	require.NoError(t, err)
	require.NotNil(t, rep.ClockCheck)
	assert.Equal(t, harness.ClockUnverified, rep.ClockCheck.Verdict)
	assert.Contains(t, rep.ClockCheck.Note, "no totp")
	assert.True(t, rep.ClockSet)
}

// TestClockCheckNotFollowingClockBack: judged on real time because its
// clock does not follow, the verifier SKIPs the case that needs a clock
// set back, and the reason says the harness did set it.
func TestClockCheckNotFollowingClockBack(t *testing.T) {
	t.Parallel()
	v, err := reference.New(wallProfile()) // reads time.Now
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 7, SetClock: (&harness.ManualClock{}).Set,
		Run: regexp.MustCompile(`^rfc6238/5\.2/reuse-clock-back$`)})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	r := rep.Results[0]
	assert.Equal(t, harness.Skip, r.Verdict)
	assert.Contains(t, strings.Join(r.Messages, " "), "reads real time (clock_check)")
}

// settingClock sets clk to each check's time before v sees it, as the
// harness's SetClock wrapper does.
type settingClock struct {
	v   *reference.Verifier
	clk *harness.ManualClock
}

func (s settingClock) Enroll(ctx context.Context, tok harness.Token) error {
	return s.v.Enroll(ctx, tok)
}
func (s settingClock) Check(ctx context.Context, r harness.CheckRequest) (harness.Reply, error) {
	s.clk.Set(r.Time)
	return s.v.Check(ctx, r)
}
func (s settingClock) Resync(ctx context.Context, r harness.ResyncRequest) (harness.Reply, error) {
	s.clk.Set(r.Time)
	return s.v.Resync(ctx, r)
}
func (s settingClock) Unlock(ctx context.Context, serial string) error {
	return s.v.Unlock(ctx, serial)
}

// TestClockCheckProperty: for clocks that follow, stop at a random date
// on the way up or down, or read real time, and random sets of times to
// check, CheckClock finds what each clock does: the times past a stop are
// missed with the stop as their reading (to the window), the others
// followed; a clock on real time is "real time".
func TestClockCheckProperty(t *testing.T) {
	t.Parallel()
	real := time.Unix(1_796_580_000, 0) // the tests' "real" now, fixed
	harness.RapidCheck(t, func(rt *rapid.T) {
		kind := rapid.SampledFrom([]string{"follows", "stops-up", "stops-down", "real"}).Draw(rt, "clock")
		stop := rapid.Int64Range(1_000_000_000, 30_000_000_000).Draw(rt, "stop")
		times := rapid.SliceOfN(rapid.Int64Range(0, 40_000_000_000), 1, 6).Draw(rt, "times")
		times = append(times, 1_767_225_600) // the simulated present
		clk := &harness.ManualClock{}
		read := func() time.Time {
			at := clk.Now().Unix()
			switch kind {
			case "stops-up":
				at = min(at, stop)
			case "stops-down":
				at = max(at, stop)
			case "real":
				at = real.Unix()
			}
			return time.Unix(at, 0)
		}
		v, err := reference.New(wallProfile(), reference.WithClock(read))
		require.NoError(rt, err)
		serial := 2_000_000_000_000
		c, err := harness.CheckClock(context.Background(), settingClock{v, clk}, times, harness.ClockCheckOptions{
			Seed: uint64(stop), Now: func() time.Time { return real },
			Serial: func() string { serial++; return strconv.Itoa(serial) }})
		require.NoError(rt, err)
		reached := func(at int64) bool {
			switch kind {
			case "stops-up":
				return at/30 <= stop/30+1
			case "stops-down":
				return at/30 >= stop/30-1
			case "real":
				return at/30 >= real.Unix()/30-1 && at/30 <= real.Unix()/30+1
			}
			return true
		}
		for _, at := range c.Follows {
			assert.True(rt, reached(at), "followed at %d, which the clock does not reach: %s", at, c.Note)
		}
		for _, m := range c.Misses {
			assert.False(rt, reached(m.Time), "missed %d, which the clock reaches: %s", m.Time, m.Reason)
			if len(c.Follows) == 0 && kind != "real" {
				// No time followed: no bisection can find the stop.
				assert.Equal(rt, harness.ClockUnverified, c.Verdict, c.Note)
				continue
			}
			require.NotNil(rt, m.Reads, "what the clock reads is found: %s", m.Reason)
			want := stop
			if kind == "real" {
				want = real.Unix()
				assert.True(rt, m.RealTime, m.Reason)
			}
			assert.InDelta(rt, want, *m.Reads, 90, m.Reason)
		}
		switch kind {
		case "follows":
			assert.Equal(rt, harness.ClockFollows, c.Verdict, c.Note)
		case "real":
			assert.Equal(rt, harness.ClockRealTime, c.Verdict, c.Note)
		default:
			switch {
			case len(c.Misses) == 0:
				assert.Equal(rt, harness.ClockFollows, c.Verdict, c.Note)
			case len(c.Follows) == 0:
				assert.Equal(rt, harness.ClockUnverified, c.Verdict, c.Note)
			default:
				assert.Equal(rt, harness.ClockPartial, c.Verdict, c.Note)
			}
		}
	})
}

// TestClockCheckPeriod60: a verifier that enrolls only 60 s steps gets
// sentinels of 60 s steps, and a clock that stops in 2262 is still found.
func TestClockCheckPeriod60(t *testing.T) {
	t.Parallel()
	wall := wallProfile()
	wall.TOTP.Periods = []int64{60}
	clk := &harness.ManualClock{}
	v, err := reference.New(wall, reference.WithClock(func() time.Time {
		return time.Unix(min(clk.Now().Unix(), cpythonMax), 0)
	}))
	require.NoError(t, err)
	rep, err := harness.Execute(t.Context(), v, harness.Options{Seed: 6, SetClock: clk.Set, Run: regexp.MustCompile(`^rfc6238/4\.2/(year-2603|current-step)$`)})
	require.NoError(t, err)
	require.NotNil(t, rep.ClockCheck)
	assert.Equal(t, harness.ClockPartial, rep.ClockCheck.Verdict, rep.ClockCheck.Note)
	res := byID(rep)
	assert.Equal(t, harness.Skip, res["rfc6238/4.2/year-2603"].Verdict, "%v", res["rfc6238/4.2/year-2603"].Messages)
	assert.Equal(t, harness.Pass, res["rfc6238/4.2/current-step"].Verdict, "%v", res["rfc6238/4.2/current-step"].Messages)
}

// TestClockCheckStopFoundDespiteChance replays the draw that once showed a
// sentinel's code matching, by chance, the step a stopped clock reads
// during the search for the stop (rapid's smallest example): the stop is
// still found.
func TestClockCheckStopFoundDespiteChance(t *testing.T) {
	t.Parallel()
	const stop = 1_000_000_000
	clk := &harness.ManualClock{}
	v, err := reference.New(wallProfile(), reference.WithClock(func() time.Time {
		return time.Unix(max(clk.Now().Unix(), stop), 0)
	}))
	require.NoError(t, err)
	serial := 2_000_000_000_000
	c, err := harness.CheckClock(t.Context(), settingClock{v, clk}, []int64{0, 9799, 1_767_225_564, 1_767_225_600}, harness.ClockCheckOptions{
		Seed: stop, Now: func() time.Time { return time.Unix(1_796_580_000, 0) },
		Serial: func() string { serial++; return strconv.Itoa(serial) }})
	require.NoError(t, err)
	require.Len(t, c.Misses, 2, c.Note)
	for _, m := range c.Misses {
		require.NotNil(t, m.Reads, m.Reason)
		assert.InDelta(t, stop, *m.Reads, 90, m.Reason)
	}
}

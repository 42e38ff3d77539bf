package stress_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/stress"
	"github.com/otplab/otplab/harness/stress/racy"
	"github.com/otplab/otplab/harness/wire"
)

// forwardEnv makes the test binary an exec verifier that forwards every
// request to the HTTP node named in the variable: an exec node of a
// deployment whose store lives in the test process.
const forwardEnv = "OTPLAB_STRESS_FORWARD"

func TestMain(m *testing.M) {
	if url := os.Getenv(forwardEnv); url != "" {
		os.Exit(forward(url))
	}
	os.Exit(m.Run())
}

func forward(url string) int {
	v, err := wire.NewHTTP(url, wire.HTTPOptions{Timeout: 30 * time.Second, HangAfter: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := wire.ServeLines(context.Background(), v, os.Stdin, os.Stdout, wire.ServeOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// httpNodes serves each verifier on its own loopback port.
func httpNodes(t *testing.T, vs []harness.Verifier) []stress.Node {
	t.Helper()
	var nodes []stress.Node
	for _, v := range vs {
		srv := httptest.NewServer(wire.NewHandler(v, "", wire.ServeOptions{}))
		t.Cleanup(srv.Close)
		c, err := wire.NewHTTP(srv.URL, wire.HTTPOptions{Timeout: 30 * time.Second, HangAfter: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		nodes = append(nodes, stress.Node{Name: srv.URL, Verifier: c})
	}
	return nodes
}

// execNodes starts one exec verifier per node, each forwarding to the
// node served over HTTP in this process.
func execNodes(t *testing.T, vs []harness.Verifier) []stress.Node {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var nodes []stress.Node
	for _, h := range httpNodes(t, vs) {
		c, err := wire.NewExec([]string{exe, "-test.run=^$"}, wire.ExecOptions{HangAfter: -1, Env: append(os.Environ(), forwardEnv+"="+h.Name)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		nodes = append(nodes, stress.Node{Name: "exec:" + h.Name, Verifier: c})
	}
	return nodes
}

func clusterNodes(t *testing.T, d racy.Defect, n int) []harness.Verifier {
	t.Helper()
	c, err := racy.New(d, n)
	if err != nil {
		t.Fatal(err)
	}
	var vs []harness.Verifier
	for _, node := range c.Nodes() {
		vs = append(vs, node)
	}
	return vs
}

func run(t *testing.T, o stress.Options) *stress.Report {
	t.Helper()
	rep, err := stress.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	t.Log(b.String())
	return rep
}

// The reference verifier, one instance behind three ports, is never
// accused, with every kind of user at work.
func TestReferenceThreeNodes(t *testing.T) {
	ref, err := reference.New(racy.Profile())
	if err != nil {
		t.Fatal(err)
	}
	vs := []harness.Verifier{ref, ref, ref}
	for _, tc := range []struct {
		name  string
		nodes []stress.Node
	}{
		{"http", httpNodes(t, vs)},
		{"exec", execNodes(t, vs)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A budget of requests, not of time: a run bounded only by time
			// takes every core it can get for that long, from the tests of
			// other packages too.
			rep := run(t, stress.Options{Nodes: tc.nodes, Profile: racy.Profile(), Users: 30, Duration: 2 * time.Second, Requests: 5000, Seed: 1})
			if rep.Failed() || len(rep.Causes) > 0 || rep.ExplainDuration != 0 || !rep.Complete() {
				t.Fatalf("the reference verifier was accused, explained or not checked: %s", rep.Headline())
			}
			if rep.Requests < 100 {
				t.Fatalf("only %d requests in 2 s", rep.Requests)
			}
		})
	}
}

// Each planted defect is found, over HTTP and over exec, at the default
// number of users, well within 30 s; the correct cluster passes. A defect
// is looked for in rounds of 3,000 requests (a second at most), each with a
// seed of its own, and the search ends at the first round that shows it
// for what it is: each shows it in the first round (6 to 36 of 50 tokens
// violate, as many as in a whole second at 10,000-25,000 requests/s, at a
// fifth of the CPU), and the 30 s bound is the issue's.
func TestPlanted(t *testing.T) {
	// At least one violation shows the defect for what it is.
	// Its cause is the explanation engine's, proven on the token's whole
	// history: one variant, not alternatives.
	const race = " / concurrent requests for one token are not served one at a time"
	want := map[racy.Defect]string{
		racy.CheckThenSetHOTP: "code of counter .* accepted on node .* and on node .*" + race,
		racy.CheckThenSetTOTP: "code of step .* accepted on node .* and on node .*" + race,
		racy.LockoutPerNode:   "although the token is locked / the lockout is counted per node: failures on nodes 1, 2 and 3 are each counted apart",
		racy.LostUpdate:       race,
		racy.ResyncRace:       race + ".* / .*resync",
		racy.TOTPPerNode:      "code of step .* accepted on node .* and on node .* / the TOTP replay record \\(the last used step\\) is kept per node",
	}
	// No cause of the run names another mechanism than the planted one
	// (as the cause or one of its alternatives).
	key := map[racy.Defect]string{
		racy.CheckThenSetHOTP: "race", racy.CheckThenSetTOTP: "race", racy.LostUpdate: "race", racy.ResyncRace: "race",
		racy.LockoutPerNode: "per-node-fails", racy.TOTPPerNode: "per-node-step",
	}
	for _, d := range racy.Defects() {
		for _, transport := range []string{"http", "exec"} {
			t.Run(string(d)+"/"+transport, func(t *testing.T) {
				vs := clusterNodes(t, d, 3)
				nodes := httpNodes(t, vs)
				if transport == "exec" {
					nodes = execNodes(t, vs)
				}
				if d == racy.Correct {
					rep := run(t, stress.Options{Nodes: nodes, Profile: racy.Profile(), Duration: time.Second, Requests: 6000, Seed: 7})
					if rep.Failed() || !rep.Complete() || len(rep.Causes) > 0 {
						t.Fatalf("the correct cluster was accused: %s", rep.Headline())
					}
					return
				}
				re := regexp.MustCompile(want[d])
				start := time.Now()
				for round := uint64(0); ; round++ {
					rep := run(t, stress.Options{Nodes: nodes, Profile: racy.Profile(), Duration: time.Second, Requests: 3000, Seed: 7 + round})
					for _, c := range rep.Causes {
						if c.Key != key[d] && !slices.Contains(c.Alternatives, key[d]) {
							t.Errorf("%s: cause %s (%s) for %d token(s): not the planted defect", d, c.Key, c.Summary, c.Tokens)
						}
					}
					if slices.ContainsFunc(rep.Violations, func(v stress.TokenViolation) bool {
						return re.MatchString(v.Summary + " / " + v.Cause + " / " + strings.Join(v.Window, " / "))
					}) {
						t.Logf("found in round %d, after %v", round+1, time.Since(start).Round(time.Millisecond))
						return
					}
					if time.Since(start) > 30*time.Second {
						t.Fatalf("%s not shown for what it is (%q) in %d rounds (%v); last: %s", d, want[d], round+1, time.Since(start).Round(time.Second), rep.Headline())
					}
				}
			})
		}
	}
}

// slow delays every request by a random pause of up to max: a node under
// load, whose replies often come after the client gave up.
type slow struct {
	harness.Verifier
	max time.Duration
}

func (s slow) wait() { time.Sleep(time.Duration(rand.Int64N(int64(s.max)))) }

func (s slow) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	s.wait()
	return s.Verifier.Check(ctx, req)
}

func (s slow) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	s.wait()
	return s.Verifier.Resync(ctx, req)
}

func (s slow) Unlock(ctx context.Context, serial string) error {
	s.wait()
	return s.Verifier.Unlock(ctx, serial)
}

// Overloaded, so that many requests time out (and still take effect
// later), the reference verifier is not accused: a request without reply
// may or may not have happened, at any moment after it was sent.
func TestReferenceOverloaded(t *testing.T) {
	ref, err := reference.New(racy.Profile())
	if err != nil {
		t.Fatal(err)
	}
	v := slow{Verifier: ref, max: 40 * time.Millisecond}
	nodes := httpNodes(t, []harness.Verifier{v, v, v})
	rep := run(t, stress.Options{Nodes: nodes, Profile: racy.Profile(), Users: 20, Duration: 3 * time.Second,
		Timeout: 20 * time.Millisecond, Seed: 3,
		// The few histories with many requests without reply that porcupine
		// cannot settle in 3 s are listed as not checked; the default 10 s
		// each made this test last 13 s, spinning both cores.
		CheckTimeout: 3 * time.Second})
	if rep.Failed() || len(rep.Causes) > 0 {
		t.Fatalf("the reference verifier was accused under overload: %s", rep.Headline())
	}
	if rep.Unknown < rep.Requests/10 {
		t.Fatalf("only %d of %d requests timed out: the test did not overload", rep.Unknown, rep.Requests)
	}
	if rep.Checked == 0 {
		t.Fatalf("no token checked: %s", rep.Headline())
	}
}

// slowEnroll takes its time to enrol, as a verifier that writes a new
// user to disk and replicates it does.
type slowEnroll struct {
	harness.Verifier
	d time.Duration
}

func (s slowEnroll) Enroll(ctx context.Context, tok harness.Token) error {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Verifier.Enroll(ctx, tok)
}

// A timeout meant for the load (20 ms) does not apply to enrolment: a
// verifier that takes 100 ms to enrol a user still has every user
// enrolled and checked.
func TestEnrolmentIsNotLoad(t *testing.T) {
	ref, err := reference.New(racy.Profile())
	if err != nil {
		t.Fatal(err)
	}
	v := slowEnroll{Verifier: ref, d: 100 * time.Millisecond}
	rep := run(t, stress.Options{Nodes: []stress.Node{{Name: "ref", Verifier: v}}, Profile: racy.Profile(), Users: 5,
		Duration: time.Second, Timeout: 20 * time.Millisecond, Seed: 4})
	if len(rep.NotEnrolled) > 0 || rep.Checked != 5 {
		t.Fatalf("enrolment was held to the load's timeout: %s", rep.Headline())
	}
}

// Cut short (Ctrl-C), a run still checks what it recorded and says it was
// interrupted; requests in flight end under their own deadline.
func TestInterruptedRunReports(t *testing.T) {
	ref, err := reference.New(racy.Profile())
	if err != nil {
		t.Fatal(err)
	}
	nodes := httpNodes(t, []harness.Verifier{ref, ref})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	rep, err := stress.Run(ctx, stress.Options{Nodes: nodes, Profile: racy.Profile(), Users: 10, Duration: time.Minute, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the run went on for %v after it was cut", took)
	}
	if !rep.Interrupted || rep.Complete() || rep.Requests == 0 || rep.Failed() {
		t.Fatalf("interrupted %v, complete %v, %d requests, failed %v", rep.Interrupted, rep.Complete(), rep.Requests, rep.Failed())
	}
	var b strings.Builder
	if err := rep.WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"interrupted": true`) {
		t.Fatalf("report.json does not say interrupted (%v)", err)
	}
}

// Bad options are refused with an error that names them.
func TestBadOptions(t *testing.T) {
	ref, _ := reference.New(racy.Profile())
	node := []stress.Node{{Name: "ref", Verifier: ref}}
	for _, tc := range []struct {
		o    stress.Options
		want string
	}{
		{stress.Options{Profile: racy.Profile()}, "no node"},
		{stress.Options{Nodes: node, Profile: racy.Profile(), Users: -1}, "-1 users"},
		{stress.Options{Nodes: node, Profile: racy.Profile(), Requests: -5}, "-5 requests"},
		{stress.Options{Nodes: node, Profile: racy.Profile(), Rate: -1}, "rate -1"},
		{stress.Options{Nodes: node, Profile: racy.Profile(), Shard: 2, Shards: 2}, "shard 2/2"},
		{stress.Options{Nodes: node, Profile: racy.Profile(), Users: 2, Shard: 4, Shards: 5}, "no user"},
		{stress.Options{Nodes: node, Profile: racy.Profile(), Timeout: -time.Second}, "timeouts must be positive"},
		{stress.Options{Nodes: node, Profile: racy.Profile(), Duration: 48 * time.Hour}, "duration 48h0m0s"},
	} {
		_, err := stress.Run(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %q", tc.o, err, tc.want)
		}
	}
}

// A verifier on its own clock (profile clock "wall") is judged with each
// request's time known to a second either way, and is not accused. The
// requests are spread over 3 s (--rate), so that second and step
// boundaries fall among them, at a bounded cost in CPU.
func TestReferenceWallClock(t *testing.T) {
	p := racy.Profile()
	p.Clock = harness.ClockWall
	ref, err := reference.New(p)
	if err != nil {
		t.Fatal(err)
	}
	nodes := httpNodes(t, []harness.Verifier{ref, ref, ref})
	rep := run(t, stress.Options{Nodes: nodes, Profile: p, Users: 30, Duration: 3 * time.Second, Rate: 2000, Seed: 5})
	if rep.Failed() || len(rep.Causes) > 0 || !rep.Complete() {
		t.Fatalf("the reference verifier on its own clock was accused or not checked: %s", rep.Headline())
	}
}

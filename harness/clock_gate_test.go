package harness

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/internal/timegate"
)

// gateProbe is a verifier that reads a ManualClock and records what it
// sees: the clock against each request's time, and which times are in
// flight together. hold, when set, is called inside Check.
type gateProbe struct {
	clk  *ManualClock
	hold func(req CheckRequest)

	mu       sync.Mutex
	inFlight map[int64]int // requests in flight by time
	wrong    []string      // broken rules
	order    []int64       // the times of the checks, in the order they arrived
	enrolls  int
}

func newGateProbe() *gateProbe {
	return &gateProbe{clk: &ManualClock{}, inFlight: map[int64]int{}}
}

func (p *gateProbe) Enroll(context.Context, Token) error {
	p.mu.Lock()
	p.enrolls++
	p.mu.Unlock()
	return nil
}

func (p *gateProbe) Check(_ context.Context, req CheckRequest) (Reply, error) {
	at := req.Time.Unix()
	p.mu.Lock()
	if now := p.clk.Now(); !now.Equal(req.Time) {
		p.wrong = append(p.wrong, "check at "+req.Time.String()+" saw the clock at "+now.String())
	}
	for t, n := range p.inFlight {
		if n > 0 && t != at {
			p.wrong = append(p.wrong, "checks at different times in flight together")
		}
	}
	p.inFlight[at]++
	p.order = append(p.order, at)
	p.mu.Unlock()
	if p.hold != nil {
		p.hold(req)
	}
	runtime.Gosched()
	p.mu.Lock()
	if now := p.clk.Now(); !now.Equal(req.Time) {
		p.wrong = append(p.wrong, "the clock moved while a check at "+req.Time.String()+" was in flight")
	}
	p.inFlight[at]--
	p.mu.Unlock()
	return Reply{}, nil
}

func (p *gateProbe) Resync(ctx context.Context, req ResyncRequest) (Reply, error) {
	return p.Check(ctx, CheckRequest{Serial: req.Serial, Time: req.Time})
}

func (p *gateProbe) Unlock(context.Context, string) error { return nil }

// queued waits until the gate has n requests waiting.
func queued(t *testing.T, g *timegate.Gate[instant], n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if g.Waiting() == n {
			return
		}
		runtime.Gosched()
	}
	t.Fatalf("the gate never had %d requests waiting", n)
}

// TestTimeGateSerialisesTimes: many goroutines checking at a few times
// never have two times in flight, and each check sees its own time.
func TestTimeGateSerialisesTimes(t *testing.T) {
	p := newGateProbe()
	v := withClock(p, p.clk.Set)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				at := time.Unix(int64(1+rng.IntN(3)), 0)
				var err error
				switch rng.IntN(4) {
				case 0:
					_, err = v.Resync(context.Background(), ResyncRequest{Time: at})
				case 1:
					err = v.Enroll(context.Background(), Token{})
				default:
					_, err = v.Check(context.Background(), CheckRequest{Time: at})
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	assert.Empty(t, p.wrong)
	assert.NotZero(t, p.enrolls)
	assert.True(t, v.(ClockSetter).SetsClock())
}

// TestTimeGateSameTimeConcurrent: checks at one time are in flight
// together (each waits inside the verifier until both are there).
func TestTimeGateSameTimeConcurrent(t *testing.T) {
	p := newGateProbe()
	both := make(chan struct{}, 2)
	p.hold = func(CheckRequest) {
		both <- struct{}{}
		for len(both) < 2 {
			runtime.Gosched()
		}
	}
	v := withClock(p, p.clk.Set)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := v.Check(ctx, CheckRequest{Time: time.Unix(5, 0)})
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	assert.Empty(t, p.wrong)
}

// TestTimeGateOrder: a check at a new time waits for the one in flight;
// one at the old time that comes later queues behind it (no starvation);
// untimed requests go at once; a waiting request whose context ends leaves
// the queue and the rest go on.
func TestTimeGateOrder(t *testing.T) {
	p := newGateProbe()
	release := make(chan struct{})
	p.hold = func(req CheckRequest) {
		if req.Serial == "held" {
			<-release
		}
	}
	v := withClock(p, p.clk.Set)
	g := v.(*clocked).gate
	ctx := context.Background()
	done := make(chan error, 3)
	check := func(c context.Context, serial string, at int64) {
		_, err := v.Check(c, CheckRequest{Serial: serial, Time: time.Unix(at, 0)})
		done <- err
	}
	go check(ctx, "held", 1)
	for {
		p.mu.Lock()
		n := len(p.order)
		p.mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	go check(ctx, "", 2)
	queued(t, g, 1)
	go check(ctx, "", 1)
	queued(t, g, 2)

	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() {
		_, err := v.Check(cctx, CheckRequest{Time: time.Unix(3, 0)})
		cancelled <- err
	}()
	queued(t, g, 3)
	cancel()
	err := <-cancelled
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	queued(t, g, 2)

	require.NoError(t, v.Enroll(ctx, Token{}), "enroll goes at once")
	require.NoError(t, v.Unlock(ctx, "x"), "unlock goes at once")

	close(release)
	for range 3 {
		require.NoError(t, <-done)
	}
	assert.Equal(t, []int64{1, 2, 1}, p.order, "arrival order, the later check at the old time behind the new time")
	assert.Empty(t, p.wrong)
	assert.True(t, p.clk.Now().Equal(time.Unix(1, 0)))
}

// TestClockedDescribe: the wrapper answers hello for a Describer and with
// an empty Info for a verifier that is none.
func TestClockedDescribe(t *testing.T) {
	info, err := withClock(newGateProbe(), func(time.Time) {}).(Describer).Describe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, Info{}, info)
	d := describing{newGateProbe()}
	info, err = withClock(d, func(time.Time) {}).(Describer).Describe(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "probe", info.Name)
}

type describing struct{ *gateProbe }

func (describing) Describe(context.Context) (Info, error) { return Info{Name: "probe"}, nil }

package timegate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGateOrder: a request at another time waits for those in flight, a
// later one at the old time queues behind it, and untimed ones go at once.
func TestGateOrder(t *testing.T) {
	var sets []int
	g := New(func(at int) error { sets = append(sets, at); return nil })
	ctx := t.Context()
	require.NoError(t, g.Enter(ctx, 1, true))
	require.NoError(t, g.Enter(ctx, 1, true), "the same time pipelines")
	two := make(chan error, 1)
	go func() { two <- g.Enter(ctx, 2, true) }()
	waitFor(t, g, 1)
	one := make(chan error, 1)
	go func() { one <- g.Enter(ctx, 1, true) }()
	waitFor(t, g, 2)
	require.NoError(t, g.Enter(ctx, 0, false), "untimed goes at once")
	g.Leave()
	g.Leave()
	g.Leave()
	require.NoError(t, <-two)
	assert.Equal(t, []int{1, 2}, sets)
	g.Leave()
	require.NoError(t, <-one)
	g.Leave()
	assert.Equal(t, []int{1, 2, 1}, sets, "the old time came after the one that waited first")
}

// TestGateSetError: a clock that cannot be set fails the request, keeps
// its time, and the gate goes on.
func TestGateSetError(t *testing.T) {
	fail := errors.New("disk full")
	broken := true
	g := New(func(at int) error {
		if broken {
			return fail
		}
		return nil
	})
	g.Prime(5)
	require.NoError(t, g.Enter(t.Context(), 5, true), "the primed time needs no set")
	g.Leave()
	require.ErrorIs(t, g.Enter(t.Context(), 6, true), fail)
	broken = false
	require.NoError(t, g.Enter(t.Context(), 6, true))
	g.Leave()
}

// TestGateCancel: a waiting request whose context ends leaves the queue.
func TestGateCancel(t *testing.T) {
	g := New(func(int) error { return nil })
	require.NoError(t, g.Enter(t.Context(), 1, true))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, g.Enter(ctx, 2, true), context.DeadlineExceeded)
	assert.Zero(t, g.Waiting())
	g.Leave()
	require.NoError(t, g.Enter(t.Context(), 2, true), "the gate is not stuck")
	g.Leave()
}

func waitFor(t *testing.T, g *Gate[int], n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if g.Waiting() == n {
			return
		}
	}
	t.Fatalf("never %d waiting", n)
}

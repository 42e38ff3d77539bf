package harness

import (
	"context"
	"sync"
	"testing"
)

// recorder is a node that records the serials it was asked about.
type recorder struct {
	mu   sync.Mutex
	id   int
	seen *[]int
}

func (r *recorder) note() {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.seen = append(*r.seen, r.id)
}

func (r *recorder) Enroll(context.Context, Token) error { r.note(); return nil }
func (r *recorder) Check(context.Context, CheckRequest) (Reply, error) {
	r.note()
	return Reply{}, nil
}
func (r *recorder) Resync(context.Context, ResyncRequest) (Reply, error) {
	r.note()
	return Reply{}, nil
}
func (r *recorder) Unlock(context.Context, string) error { r.note(); return nil }

// Each token's requests go round the nodes from a node drawn from the seed
// and serial: successive requests never land on the same node, and the
// same seed sends them to the same nodes again.
func TestSpreadGoesRoundTheNodes(t *testing.T) {
	play := func(seed uint64, serial string) []int {
		var seen []int
		var nodes []Verifier
		for i := range 3 {
			nodes = append(nodes, &recorder{id: i, seen: &seen})
		}
		s := newSpread(nodes, seed)
		ctx := context.Background()
		_ = s.Enroll(ctx, Token{Serial: serial})
		for range 5 {
			_, _ = s.Check(ctx, CheckRequest{Serial: serial})
		}
		_ = s.Unlock(ctx, serial)
		return seen
	}
	starts := map[int]bool{}
	for i, serial := range []string{"1000000000001", "1000000000002", "1000000000003", "1000000000004", "1000000000005", "1000000000006"} {
		a := play(uint64(i+1), serial)
		b := play(uint64(i+1), serial)
		if len(a) != 7 {
			t.Fatalf("%d requests recorded, want 7", len(a))
		}
		for k := range a {
			if a[k] != b[k] {
				t.Fatalf("seed %d serial %s: nodes %v, then %v", i+1, serial, a, b)
			}
			if k > 0 && a[k] == a[k-1] {
				t.Fatalf("two successive requests on node %d: %v", a[k], a)
			}
		}
		starts[a[0]] = true
	}
	if len(starts) < 2 {
		t.Fatalf("every token enrolled on the same node: %v", starts)
	}
}

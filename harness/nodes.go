package harness

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
)

// spread is a deployment of several nodes seen as one [Verifier]: the
// requests of each token go round its nodes, starting at a node drawn from
// the run's seed and the token's serial. A token is enrolled on one node
// and checked on the next ones, a code sent again goes to another node
// than the one that saw it last, and requests sent at once go to different
// nodes: state kept per node (a replay record, a failure count) shows
// without any race. The serials come from the seed too, so a run replayed
// with the same seed sends each token's requests to the same nodes in the
// same order.
type spread struct {
	nodes []Verifier
	seed  uint64

	mu   sync.Mutex
	sent map[string]int // requests so far, per serial
	last map[string]int // the node of the serial's latest request
}

func newSpread(nodes []Verifier, seed uint64) *spread {
	return &spread{nodes: nodes, seed: seed, sent: map[string]int{}, last: map[string]int{}}
}

// onNode tells, for a script, the node that served the serial's latest
// request when v spreads requests over several nodes: " on node 2". It
// says nothing for a single verifier. Cases tell a step right after its
// request returned, so "latest" is that step's node.
func onNode(v Verifier, serial string) string {
	if c, ok := v.(*clocked); ok {
		v = c.v
	}
	s, ok := v.(*spread)
	if !ok {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.last[serial]
	if !ok {
		return ""
	}
	return fmt.Sprintf(" on node %d", n+1)
}

// node returns the node of the serial's next request.
func (s *spread) node(serial string) Verifier {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(s.seed >> (8 * i))
	}
	h.Write(b[:])
	h.Write([]byte(serial))
	n := uint64(len(s.nodes))
	s.mu.Lock()
	k := s.sent[serial]
	s.sent[serial] = k + 1
	i := int((h.Sum64()%n + uint64(k)) % n)
	s.last[serial] = i
	s.mu.Unlock()
	return s.nodes[i]
}

// Describe answers hello with node 1's reply.
func (s *spread) Describe(ctx context.Context) (Info, error) {
	if d, ok := s.nodes[0].(Describer); ok {
		return d.Describe(ctx)
	}
	return Info{}, nil
}

// SetsClock reports whether every node's clock follows the requests.
func (s *spread) SetsClock() bool {
	for _, n := range s.nodes {
		if cs, ok := n.(ClockSetter); !ok || !cs.SetsClock() {
			return false
		}
	}
	return true
}

func (s *spread) Enroll(ctx context.Context, tok Token) error {
	return s.node(tok.Serial).Enroll(ctx, tok)
}

func (s *spread) Check(ctx context.Context, req CheckRequest) (Reply, error) {
	return s.node(req.Serial).Check(ctx, req)
}

func (s *spread) Resync(ctx context.Context, req ResyncRequest) (Reply, error) {
	return s.node(req.Serial).Resync(ctx, req)
}

func (s *spread) Unlock(ctx context.Context, serial string) error {
	return s.node(serial).Unlock(ctx, serial)
}

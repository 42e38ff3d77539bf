package harness

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
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
	// served logs, per serial, every request that returned and the node
	// that served it, so that a history can say the node of each request
	// (requests sent at once return in any order).
	served map[string][]served
}

// served is one request a node answered: the request in the model's terms
// and the reply (enrolls and unlocks as accepted).
type served struct {
	r        Request
	accepted bool
	node     int // from 1
}

func newSpread(nodes []Verifier, seed uint64) *spread {
	return &spread{nodes: nodes, seed: seed, sent: map[string]int{}, last: map[string]int{}, served: map[string][]served{}}
}

// spreadOf returns the deployment v spreads requests over, or nil for a
// single verifier.
func spreadOf(v Verifier) *spread {
	if c, ok := v.(*clocked); ok {
		v = c.v
	}
	s, _ := v.(*spread)
	return s
}

// withNodes returns h with the node that served each of its requests, as
// the deployment v logged them, and the number of nodes; h itself is left
// as it was. A request is matched to a logged one by its op, codes, time,
// purpose and reply, in order, so requests sent at once each get a node
// that served such a request with such a reply. A request that matches
// nothing keeps node 0 (unknown). For a single verifier h is returned as
// it is.
func withNodes(v Verifier, h history) history {
	s := spreadOf(v)
	if s == nil {
		return h
	}
	s.mu.Lock()
	log := slices.Clone(s.served[h.tok.Serial])
	s.mu.Unlock()
	used := make([]bool, len(log))
	h.nodes = len(s.nodes)
	events := make([]event, len(h.events))
	for i, e := range h.events {
		reqs := slices.Clone(e.reqs)
		for j := range reqs {
			for k, l := range log {
				if !used[k] && l.accepted == e.replies[j] && sameRequest(l.r, reqs[j]) {
					used[k], reqs[j].node = true, l.node
					break
				}
			}
		}
		events[i] = event{reqs, e.replies}
	}
	h.events = events
	return h
}

// sameRequest reports whether a and b are the same request, nodes aside.
func sameRequest(a, b Request) bool {
	return a.Op == b.Op && slices.Equal(a.Codes, b.Codes) && a.Purpose == b.Purpose &&
		(a.Time == b.Time || a.Op != opCheck && a.Op != opResync)
}

// refusal reports whether err is an application error to a request the
// verifier serves: cases record such a request as not accepted.
func refusal(err error) bool {
	var refused *RefusedError
	return errors.As(err, &refused) && !errors.Is(err, ErrUnsupported)
}

// log records a request node i served.
func (s *spread) log(serial string, i int, r Request, accepted bool) {
	s.mu.Lock()
	s.served[serial] = append(s.served[serial], served{r, accepted, i + 1})
	s.mu.Unlock()
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

// node returns the index of the node of the serial's next request.
func (s *spread) node(serial string) int {
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
	return i
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
	i := s.node(tok.Serial)
	err := s.nodes[i].Enroll(ctx, tok)
	if err == nil {
		s.log(tok.Serial, i, Request{Op: opEnroll}, true)
	}
	return err
}

func (s *spread) Check(ctx context.Context, req CheckRequest) (Reply, error) {
	i := s.node(req.Serial)
	rep, err := s.nodes[i].Check(ctx, req)
	if err == nil || refusal(err) {
		s.log(req.Serial, i, Request{Op: opCheck, Codes: []string{req.Code}, Time: req.Time.Unix(), Purpose: req.Purpose}, rep.Accepted)
	}
	return rep, err
}

func (s *spread) Resync(ctx context.Context, req ResyncRequest) (Reply, error) {
	i := s.node(req.Serial)
	rep, err := s.nodes[i].Resync(ctx, req)
	if err == nil || refusal(err) {
		s.log(req.Serial, i, Request{Op: opResync, Codes: slices.Clone(req.Codes), Time: req.Time.Unix()}, rep.Accepted)
	}
	return rep, err
}

func (s *spread) Unlock(ctx context.Context, serial string) error {
	i := s.node(serial)
	err := s.nodes[i].Unlock(ctx, serial)
	if err == nil {
		s.log(serial, i, Request{Op: opUnlock}, true)
	}
	return err
}

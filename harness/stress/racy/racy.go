// Package racy holds planted verifiers for the self-tests of stress: a
// small deployment of several nodes over one shared store, correct, or with
// exactly one of the concurrency defects that real multi-node OTP services
// ship. Each node is a [harness.Verifier]; every node of a [Cluster]
// reads and writes the same store, as nodes behind a load balancer share a
// database. The store's round trip is simulated by a short pause between a
// read and the write that follows it, where real code waits on the network.
//
// The verifiers claim [Profile]: HOTP and TOTP, SHA1, 6 digits, look-ahead
// 10, counters up to 2^32-1, two-code resync over 100 counters, lockout after 5 failures, one TOTP
// step either way, reuse "later", time from requests.
package racy

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

// Defect names a planted defect.
type Defect string

// The planted defects, each with its one-line fault.
const (
	// Correct has none: every operation reads, decides and writes under
	// the token's lock.
	Correct Defect = "correct"
	// CheckThenSetHOTP reads the HOTP counter, compares, then writes the
	// new counter without holding the lock in between (GET, compute, SET).
	CheckThenSetHOTP Defect = "check-then-set-hotp"
	// CheckThenSetTOTP does the same with the TOTP last used step.
	CheckThenSetTOTP Defect = "check-then-set-totp"
	// LockoutPerNode keeps the failure count in each node's memory.
	LockoutPerNode Defect = "lockout-per-node"
	// LostUpdate refuses a code equal to the last accepted one atomically,
	// but writes the counter as "k+1" after deciding, so that a slower
	// request sets it back.
	LostUpdate Defect = "lost-update"
	// ResyncRace computes a resync on a snapshot and writes the counter
	// without the lock, racing a check that moves it meanwhile.
	ResyncRace Defect = "resync-race"
	// TOTPPerNode keeps the TOTP last used step in each node's memory.
	TOTPPerNode Defect = "totp-per-node"
)

// Defects lists the planted defects, Correct first.
func Defects() []Defect {
	return []Defect{Correct, CheckThenSetHOTP, CheckThenSetTOTP, LockoutPerNode, LostUpdate, ResyncRace, TOTPPerNode}
}

// Profile is the policy every planted verifier claims.
func Profile() harness.Profile {
	return harness.Profile{
		Kinds:      []harness.Kind{harness.HOTP, harness.TOTP},
		Algorithms: []string{"SHA1"},
		Digits:     []int{6},
		Counters:   &harness.CounterRange{Min: 0, Max: counterMax},
		LookAhead:  harness.Uint64(lookAhead),
		Resync:     &harness.ResyncPolicy{Codes: 2, Window: resyncWindow},
		Lockout:    &harness.LockoutPolicy{After: lockAfter},
		TOTP:       &harness.TOTPPolicy{SkewBack: 1, SkewAhead: 1},
		Clock:      harness.ClockRequest,
	}
}

const (
	lookAhead    = 10
	resyncWindow = 100
	lockAfter    = 5
	// counterMax is the largest counter: a 32-bit store, as many real
	// verifiers have, which keeps counter arithmetic clear of overflow.
	counterMax = 1<<32 - 1
)

// rec is a token's record in the shared store.
type rec struct {
	key     *token.Key
	kind    harness.Kind
	period  int64
	t0      int64
	c       uint64 // HOTP next counter
	hasLast bool   // TOTP: a step was accepted
	last    int64  // TOTP last accepted step
	lastVal uint32 // LostUpdate: the last accepted code
	hasVal  bool
	fails   int
	locked  bool
}

// Cluster is a deployment: a shared store and its nodes.
type Cluster struct {
	defect Defect
	// rtt is the pause between a read of the store and the write that
	// follows it.
	rtt time.Duration

	mu    sync.Mutex // guards store and every rec's fields
	store map[string]*rec
	// locks serialise the operations of one token (the correct
	// read-decide-write).
	locks map[string]*sync.Mutex
	nodes []*Node
}

// Node is one node of a Cluster.
type Node struct {
	c  *Cluster
	id int

	mu    sync.Mutex
	fails map[string]int   // LockoutPerNode
	last  map[string]int64 // TOTPPerNode
}

// New returns a cluster of n nodes with the defect.
func New(d Defect, n int) (*Cluster, error) {
	ok := false
	for _, x := range Defects() {
		ok = ok || x == d
	}
	if !ok {
		return nil, fmt.Errorf("racy: unknown defect %q", d)
	}
	if n < 1 {
		return nil, fmt.Errorf("racy: %d nodes: want at least 1", n)
	}
	c := &Cluster{defect: d, rtt: 2 * time.Millisecond, store: map[string]*rec{}, locks: map[string]*sync.Mutex{}}
	for i := range n {
		c.nodes = append(c.nodes, &Node{c: c, id: i, fails: map[string]int{}, last: map[string]int64{}})
	}
	return c, nil
}

// Nodes returns the cluster's nodes.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// read returns a copy of the token's record and its lock.
func (c *Cluster) read(serial string) (rec, *sync.Mutex, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.store[serial]
	if !ok {
		return rec{}, nil, false
	}
	return *r, c.locks[serial], true
}

// write stores the record whole, as a SET does.
func (c *Cluster) write(serial string, r rec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.store[serial]; ok {
		*c.store[serial] = r
	}
}

// pause is the store's round trip between a read and a write: rtt give or
// take a half, so that writes may land out of order.
func (c *Cluster) pause() { time.Sleep(c.rtt/2 + rand.N(c.rtt)) }

var errUnknown = errors.New("unknown serial")

// Describe answers hello.
func (n *Node) Describe(context.Context) (harness.Info, error) {
	p := Profile()
	return harness.Info{Name: fmt.Sprintf("racy %s node %d", n.c.defect, n.id+1), Profile: &p}, nil
}

// Enroll stores the token.
func (n *Node) Enroll(_ context.Context, tok harness.Token) error {
	key, err := token.NewKey(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil {
		return fmt.Errorf("enroll %s: %w", tok, err)
	}
	c := n.c
	c.mu.Lock()
	c.store[tok.Serial] = &rec{key: key, kind: tok.Kind, period: tok.Period, t0: tok.T0, c: tok.Counter}
	if c.locks[tok.Serial] == nil {
		c.locks[tok.Serial] = &sync.Mutex{}
	}
	c.mu.Unlock()
	n.mu.Lock()
	delete(n.fails, tok.Serial)
	delete(n.last, tok.Serial)
	n.mu.Unlock()
	return nil
}

// parse reads a 6-digit code.
func parse(code string) (uint32, bool) { return token.ParseCode(code, 6) }

// same compares two code values in constant time.
func same(a, b uint32) bool {
	return subtle.ConstantTimeCompare(fmt.Appendf(nil, "%06d", a), fmt.Appendf(nil, "%06d", b)) == 1
}

// Check verifies one code.
func (n *Node) Check(_ context.Context, req harness.CheckRequest) (harness.Reply, error) {
	c := n.c
	first, lk, ok := c.read(req.Serial)
	if !ok {
		return harness.Reply{}, fmt.Errorf("check %s: %w", req.Serial, errUnknown)
	}
	racy := c.defect == CheckThenSetHOTP && first.kind == harness.HOTP ||
		c.defect == CheckThenSetTOTP && first.kind == harness.TOTP
	if !racy {
		lk.Lock()
	}
	r, _, _ := c.read(req.Serial)
	fails := r.fails
	if c.defect == LockoutPerNode {
		n.mu.Lock()
		fails = n.fails[req.Serial]
		n.mu.Unlock()
	}
	if r.locked || fails >= lockAfter {
		if !racy {
			lk.Unlock()
		}
		return harness.Reply{Locked: true}, nil
	}
	v, wellFormed := parse(req.Code)
	accepted, next := false, r.c
	if wellFormed {
		if r.kind == harness.HOTP {
			accepted, next = n.checkHOTP(r, v)
		} else {
			accepted = n.checkTOTP(&r, req.Serial, v, req.Time.Unix())
		}
	}
	if accepted {
		fails = 0
		r.lastVal, r.hasVal = v, true
	} else {
		fails++
	}
	if c.defect == LockoutPerNode {
		n.mu.Lock()
		n.fails[req.Serial] = fails
		n.mu.Unlock()
	} else {
		r.fails = fails
		r.locked = fails >= lockAfter
	}
	switch {
	case racy:
		// The defect: GET, compute, SET, with the round trip between.
		r.c = next
		c.pause()
		c.write(req.Serial, r)
	case c.defect == LostUpdate && accepted:
		// The decision and the last code are stored atomically; the
		// counter is written afterwards, as "k+1", without the lock.
		c.write(req.Serial, r)
		lk.Unlock()
		c.pause()
		c.mu.Lock()
		c.store[req.Serial].c = next
		c.mu.Unlock()
	default:
		r.c = next
		c.write(req.Serial, r)
		lk.Unlock()
	}
	return harness.Reply{Accepted: accepted, Locked: r.locked}, nil
}

// checkHOTP returns whether the code is in the window and the counter
// that follows.
func (n *Node) checkHOTP(r rec, v uint32) (bool, uint64) {
	if n.c.defect == LostUpdate && r.hasVal && same(r.lastVal, v) {
		return false, r.c
	}
	// A counter past counterMax is a spent token: no window.
	for k := r.c; k <= min(r.c+lookAhead, counterMax); k++ {
		if same(r.key.Value(k), v) {
			return true, k + 1
		}
	}
	return false, r.c
}

func (n *Node) checkTOTP(r *rec, serial string, v uint32, now int64) bool {
	t := (now - r.t0) / r.period
	hasLast, last := r.hasLast, r.last
	if n.c.defect == TOTPPerNode {
		n.mu.Lock()
		last, hasLast = n.last[serial]
		n.mu.Unlock()
	}
	for s := t - 1; s <= t+1; s++ {
		if s < 0 || (hasLast && s <= last) || !same(r.key.Value(uint64(s)), v) {
			continue
		}
		if n.c.defect == TOTPPerNode {
			n.mu.Lock()
			n.last[serial] = s
			n.mu.Unlock()
		} else {
			r.hasLast, r.last = true, s
		}
		return true
	}
	return false
}

// Resync brings the counter in step with two consecutive codes.
func (n *Node) Resync(_ context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	c := n.c
	_, lk, ok := c.read(req.Serial)
	if !ok {
		return harness.Reply{}, fmt.Errorf("resync %s: %w", req.Serial, errUnknown)
	}
	if c.defect != ResyncRace {
		lk.Lock()
		defer lk.Unlock()
	}
	r, _, _ := c.read(req.Serial)
	locked := r.locked
	if c.defect == LockoutPerNode {
		// The node's own count is its lock, for a resync as for a check:
		// the one defect is where the count lives.
		n.mu.Lock()
		locked = n.fails[req.Serial] >= lockAfter
		n.mu.Unlock()
	}
	if r.kind != harness.HOTP || locked || len(req.Codes) != 2 {
		return harness.Reply{Locked: locked}, nil
	}
	a, okA := parse(req.Codes[0])
	b, okB := parse(req.Codes[1])
	if !okA || !okB {
		return harness.Reply{}, nil
	}
	for k := r.c; k <= min(r.c+resyncWindow, counterMax-1); k++ {
		if same(r.key.Value(k), a) && same(r.key.Value(k+1), b) {
			if c.defect == ResyncRace {
				c.pause()
			}
			c.mu.Lock()
			c.store[req.Serial].c = k + 2
			c.store[req.Serial].fails = 0
			c.mu.Unlock()
			n.mu.Lock()
			delete(n.fails, req.Serial)
			n.mu.Unlock()
			return harness.Reply{Accepted: true}, nil
		}
	}
	return harness.Reply{}, nil
}

// Unlock lifts the lock on every node.
func (n *Node) Unlock(_ context.Context, serial string) error {
	c := n.c
	_, lk, ok := c.read(serial)
	if !ok {
		return fmt.Errorf("unlock %s: %w", serial, errUnknown)
	}
	lk.Lock()
	defer lk.Unlock()
	c.mu.Lock()
	c.store[serial].fails, c.store[serial].locked = 0, false
	c.mu.Unlock()
	for _, m := range c.nodes {
		m.mu.Lock()
		delete(m.fails, serial)
		m.mu.Unlock()
	}
	return nil
}

package harness

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/token"
)

// int64Store is a HOTP verifier whose counter lives in a signed 64-bit
// column: storing a counter from 2^63 on raises an application error
// (SQLite's "Python int too large to convert to SQLite INTEGER").
type int64Store struct {
	mu   sync.Mutex
	keys map[string]*token.Key
	next map[string]int64
}

func (v *int64Store) Enroll(_ context.Context, tok Token) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if tok.Counter > math.MaxInt64 {
		return &RefusedError{Op: "enroll", Message: "counter out of range"}
	}
	k, err := token.NewKey(tok.Secret, tok.Algorithm, tok.Digits)
	if err != nil {
		return err
	}
	v.keys[tok.Serial], v.next[tok.Serial] = k, int64(tok.Counter)
	return nil
}

func (v *int64Store) Check(_ context.Context, req CheckRequest) (Reply, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	k := v.keys[req.Serial]
	if k == nil {
		return Reply{}, nil
	}
	c := uint64(v.next[req.Serial])
	for i := uint64(0); i <= 5; i++ {
		if k.HOTP(c+i) == req.Code {
			if c+i+1 > math.MaxInt64 {
				return Reply{}, &RefusedError{Op: "check", Message: "OverflowError: Python int too large to convert to SQLite INTEGER"}
			}
			v.next[req.Serial] = int64(c + i + 1)
			return Reply{Accepted: true}, nil
		}
	}
	return Reply{}, nil
}

func (v *int64Store) Resync(context.Context, ResyncRequest) (Reply, error) {
	return Reply{}, ErrUnsupported
}

func (v *int64Store) Unlock(context.Context, string) error { return ErrUnsupported }

// TestSignedStorageErrorIsExplained runs the 2^63 counter case against a
// verifier whose signed 64-bit column raises an error past 2^63-1: the
// request the error answered is part of the history, and replaying it
// names the signed 64-bit storage (the last code accepted is that of
// 2^63-2), not a double.
func TestSignedStorageErrorIsExplained(t *testing.T) {
	p := Profile{Kinds: []Kind{HOTP}, LookAhead: Uint64(5), Clock: ClockRequest}
	v := &int64Store{keys: map[string]*token.Key{}, next: map[string]int64{}}
	r, err := newRun(t.Context(), v, Options{Profile: &p, Seed: 3})
	require.NoError(t, err)
	var def *caseDef
	for _, c := range catalogue() {
		if c.id == "rfc4226/5.1/counter-2^63" {
			def = c
		}
	}
	require.NotNil(t, def)
	res := r.runCase(t.Context(), def)
	require.NotEqual(t, Pass, res.Verdict, "%v", res.Messages)
	e := explain(r.p, quirks{}, res.hist)
	require.NotNil(t, e, "%v", res.Messages)
	assert.Contains(t, e.keys, "counters-max-9223372036854775806", "%v", e.keys)
	assert.NotContains(t, e.keys, "counters-max-9223372036854775807")
	assert.NotContains(t, e.keys, "counter-double")
	assert.NotContains(t, e.keys, "counter-double-stored")
}

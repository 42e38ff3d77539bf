package main

import (
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
	"github.com/otplab/otplab/token"
)

// BenchmarkHTTP measures round trips to the server of "conformance serve"
// (the reference verifier behind the protocol v1 handler, logging every
// request) on a loopback port, through the HTTP client with keep-alive
// connections, many requests in flight. Each goroutine owns a token and
// submits its successive codes, so every check is accepted.
func BenchmarkHTTP(b *testing.B) {
	v, err := reference.New(reference.Default())
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := newServer(v, "", defaultServeLimits(), io.Discard)
	go srv.Serve(ln)
	defer srv.Close()
	c, err := wire.NewHTTP("http://"+ln.Addr().String()+"/", wire.HTTPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	secret := []byte("12345678901234567890")
	var serials atomic.Int64
	ctx := b.Context()
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		key, _ := token.NewKey(secret, token.SHA1, 6) // a Key is not safe for concurrent use
		tok := harness.Token{Serial: fmt.Sprintf("1%012d", serials.Add(1)), Kind: harness.HOTP, Algorithm: token.SHA1, Digits: 6, Secret: secret}
		if err := c.Enroll(ctx, tok); err != nil {
			b.Error(err)
			return
		}
		for i := uint64(0); pb.Next(); i++ {
			rep, err := c.Check(ctx, harness.CheckRequest{Serial: tok.Serial, Code: key.HOTP(i), Time: time.Unix(0, 0)})
			if err != nil || !rep.Accepted {
				b.Errorf("check %d: %+v %v", i, rep, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

package wire

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/token"
)

// BenchmarkExec measures round trips to the reference verifier served
// over the exec transport by a subprocess, with many requests in flight
// at once (pipelined over the one pipe pair). Each goroutine owns a token
// and submits its successive codes, so every check is accepted after one
// HMAC on the verifier's side.
func BenchmarkExec(b *testing.B) {
	argv, env := helperArgv(b, "reference")
	c, err := NewExec(argv, ExecOptions{Env: env})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Describe(b.Context()); err != nil {
		b.Fatal(err)
	}
	benchChecks(b, c)
}

// benchChecks runs b.N accepted checks against v from 32 goroutines per
// core and reports requests per second.
func benchChecks(b *testing.B, v harness.Verifier) {
	benchChecksAt(b, v, 32, func(uint64) int64 { return 0 })
}

// benchChecksAt is benchChecks with par goroutines per core and the i-th
// check of each goroutine at the time at(i). The tokens are HOTP: the
// time changes nothing but the clock.
func benchChecksAt(b *testing.B, v harness.Verifier, par int, at func(i uint64) int64) {
	secret := []byte("12345678901234567890")
	var serials atomic.Int64
	ctx := b.Context()
	b.SetParallelism(par)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		key, _ := token.NewKey(secret, token.SHA1, 6) // a Key is not safe for concurrent use
		tok := harness.Token{Serial: fmt.Sprintf("1%012d", serials.Add(1)), Kind: harness.HOTP, Algorithm: token.SHA1, Digits: 6, Secret: secret}
		if err := v.Enroll(ctx, tok); err != nil {
			b.Error(err)
			return
		}
		for i := uint64(0); pb.Next(); i++ {
			rep, err := v.Check(ctx, harness.CheckRequest{Serial: tok.Serial, Code: key.HOTP(i), Time: time.Unix(at(i), 0)})
			if err != nil || !rep.Accepted {
				b.Errorf("check %d: %+v %v", i, rep, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkExecClock measures the clock gate over the exec transport: the
// reference verifier on its own clock, reading the clock file the client
// sets (ClockFile). "same-time": every check at one time, so they
// pipeline as without a clock; "new-time": every check at a time of its
// own (from one counter shared by the goroutines), so each waits for the
// one in flight and the clock file is replaced before it: no pipelining
// at all, the worst case (a run's cases change the time far less often).
func BenchmarkExecClock(b *testing.B) {
	var next atomic.Int64
	for _, tc := range []struct {
		name string
		at   func(i uint64) int64
	}{
		{"same-time", func(uint64) int64 { return 1767225600 }},
		{"new-time", func(uint64) int64 { return 1767225600 + next.Add(1) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			argv, env := helperArgv(b, "reference-wall")
			c, err := NewExec(argv, ExecOptions{Env: env, Clock: ClockFile})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Describe(b.Context()); err != nil {
				b.Fatal(err)
			}
			benchChecksAt(b, c, 32, tc.at)
		})
	}
}

// BenchmarkHTTPCheck measures accepted checks over HTTP on a 127.0.0.1
// port, client and server in this process, 16 goroutines per core, and
// reports the CPU time of both ends per request (cpu-us/op), which a busy
// machine inflates far less than the rate. "otplab": the HTTP client and
// the Handler serving the reference verifier. "floor": what net/http alone
// costs for the same exchange: a plain http.Client posting a fixed check
// body to a handler that reads it and writes a fixed reply, no JSON and
// no verifier; no client of net/http can do better than this.
func BenchmarkHTTPCheck(b *testing.B) {
	b.Run("otplab", func(b *testing.B) {
		v, err := reference.New(reference.Default())
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(NewHandler(v, "", ServeOptions{}))
		defer srv.Close()
		c, err := NewHTTP(srv.URL, HTTPOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cpu0 := cpuTime(b)
		benchChecksAt(b, c, 16, func(uint64) int64 { return 0 })
		b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
	})
	b.Run("floor", func(b *testing.B) {
		reply := []byte(`{"id":1,"ok":true,"accepted":true}` + "\n")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(reply)
		}))
		defer srv.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
		defer client.CloseIdleConnections()
		body := []byte(`{"id":1,"op":"check","serial":"1000000000001","code":"755224","time":0}`)
		measureCPU(b, func() {
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 512)
				for pb.Next() {
					req, _ := http.NewRequestWithContext(b.Context(), http.MethodPost, srv.URL+"/check", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.ReadFull(resp.Body, buf[:len(reply)])
					_ = resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !bytes.Equal(buf[:n], reply) {
						b.Errorf("status %d, body %q", resp.StatusCode, buf[:n])
						return
					}
				}
			})
		})
	})
}

// measureCPU runs f, timed, and reports requests/s and the process's CPU
// time per request.
func measureCPU(b *testing.B, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, start := cpuTime(b), time.Now()
	f()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}

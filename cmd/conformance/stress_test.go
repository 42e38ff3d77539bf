package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/stress"
	"github.com/otplab/otplab/harness/stress/racy"
	"github.com/otplab/otplab/harness/wire"
)

// serveCluster serves each node of a planted cluster on its own loopback
// port and returns the --verifier flags.
func serveCluster(t *testing.T, d racy.Defect) []string {
	t.Helper()
	c, err := racy.New(d, 3)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, n := range c.Nodes() {
		srv := httptest.NewServer(wire.NewHandler(harness.Verifier(n), "", wire.ServeOptions{}))
		t.Cleanup(srv.Close)
		args = append(args, "--verifier", srv.URL)
	}
	return args
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestStressCorrectClusterPasses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := append([]string{"stress", "--duration", "2s", "--requests", "3000", "--users", "20", "--seed", "5", "--report-dir", dir}, serveCluster(t, racy.Correct)...)
	code, out, errs := runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "0 violation(s) in 20 token(s) checked") {
		t.Fatalf("no headline:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Schema     int    `json:"schema"`
		Seed       uint64 `json:"seed"`
		Requests   int    `json:"requests"`
		Violations []any  `json:"violations"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != 1 || rep.Seed != 5 || rep.Requests == 0 || len(rep.Violations) != 0 {
		t.Fatalf("report.json: %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(dir, "junit.xml")); err != nil {
		t.Fatal(err)
	}
}

// The check-then-set cluster is caught within 3,000 requests, however
// long they take on a loaded machine (--duration is only a cap).
func TestStressFindsDoubleAcceptance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := append([]string{"stress", "--duration", "30s", "--requests", "3000", "--seed", "5", "--report-dir", dir}, serveCluster(t, racy.CheckThenSetHOTP)...)
	code, out, _ := runCLI(t, args...)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s", code, exitFailed, out)
	}
	if !strings.Contains(out, "accepted on node") || !strings.Contains(out, "that passed): concurrent requests for one token are not served one at a time") ||
		len(causeLines(out)) != 1 {
		t.Fatalf("the double acceptance is not shown:\n%s", out)
	}
	html, _ := filepath.Glob(filepath.Join(dir, "token-*.html"))
	if len(html) == 0 {
		t.Fatal("no visualisation written")
	}
	junit, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil || !strings.Contains(string(junit), "<failure") {
		t.Fatalf("junit.xml has no failure: %v", err)
	}
}

func TestStressBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stress", "--shard", "2/2"}, `--shard "2/2"`},
		{[]string{"stress", "--shard", "x"}, `--shard "x"`},
		{[]string{"stress", "--output", "xml"}, `--output "xml"`},
		{[]string{"stress", "--users", "-1"}, "users"},
		{[]string{"stress", "--timeout", "0s"}, "--timeout"},
		{[]string{"stress", "--explain", "-1"}, "--explain -1"},
		{[]string{"stress", "--verifier", "ftp://x"}, `--verifier "ftp://x"`},
		{[]string{"stress", "--profile", "/nonexistent/p.json"}, "--profile"},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q (stdout %q), want exit 2 and one line naming %s", tc.args, code, errs, out, tc.want)
		}
	}
}

// run with three endpoints: the correct cluster passes, the clusters that
// keep state per node fail at the cases that spread a token's requests.
func TestRunThreeNodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		defect racy.Defect
		code   int
		want   []string
	}{
		{racy.Correct, exitOK, nil},
		{racy.LockoutPerNode, exitFailed, []string{"FAIL        rfc4226/7.3/lockout-after-f", "FAIL        rfc4226/7.3/lockout-holds",
			"1. the lockout is counted per node: failures on nodes 1, 2 and 3 are each counted apart, so up to 3x5 wrong codes are compared before any lock"}},
		{racy.TOTPPerNode, exitFailed, []string{"FAIL        rfc6238/5.2/reuse-same-step", "again \"", "\" on node ",
			"1. the TOTP replay record (the last used step) is kept per node", "they fail only across nodes",
			"(accepted on node "}},
	} {
		t.Run(string(tc.defect), func(t *testing.T) {
			args := []string{"run", "--seed", "11", "--checks", "20"}
			if tc.code != exitOK {
				// The fixed cases name the defect; shrinking a property
				// sequence takes long and proves nothing more here.
				args = append(args, "--skip", "^otplab/model/")
			}
			args = append(args, serveCluster(t, tc.defect)...)
			code, out, errs := runCLI(t, args...)
			t.Log(out)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("the report does not say %q", w)
				}
			}
			// Exactly one cause, its true one; the reference over one
			// store is never explained.
			if n := len(causeLines(out)); tc.code == exitOK && n != 0 || tc.code != exitOK && n != 1 {
				t.Errorf("%d causes, want %d: %q", n, min(1, tc.code), causeLines(out))
			}
			if tc.code == exitOK && strings.Contains(out, "per node") {
				t.Error("the reference's report speaks of state per node")
			}
		})
	}
}

// causeLines returns the numbered lines of a text report's causes.
func causeLines(out string) []string {
	var lines []string
	in := false
	for l := range strings.Lines(out) {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "Causes:"):
			in = true
		case t == "":
			in = false
		case in && len(t) > 2 && t[0] >= '1' && t[0] <= '9' && strings.Contains(t[:4], ". "):
			lines = append(lines, t)
		}
	}
	return lines
}

// FuzzParseShard: --shard never panics, and what it accepts is a shard
// inside its range.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "2/3", "3/3", "-1/2", "1/0", "x", "", "1/2/3", "01/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		i, n, err := parseShard(s)
		if err != nil || s == "" {
			return
		}
		if i < 0 || n < 1 || i >= n {
			t.Fatalf("%q gave shard %d/%d", s, i, n)
		}
	})
}

// Two shards of one stress run over one cluster, merged: the merged report
// has every shard's tokens and violations and their timelines; a shard
// missing makes it incomplete; a shard given twice is a usage error. Each
// shard runs for a number of requests, not a time: in 1 s on a loaded
// machine a shard made 119 requests and saw no double acceptance.
func TestStressShardsMerge(t *testing.T) {
	t.Parallel()
	nodes := serveCluster(t, racy.CheckThenSetHOTP)
	base := t.TempDir()
	var dirs []string
	for i := range 2 {
		dir := filepath.Join(base, fmt.Sprintf("shard-%d", i))
		dirs = append(dirs, dir)
		args := append([]string{"stress", "--shard", fmt.Sprintf("%d/2", i), "--seed", "3", "--duration", "30s", "--requests", "2000", "--report-dir", dir}, nodes...)
		if code, out, _ := runCLI(t, args...); code != exitFailed {
			t.Fatalf("shard %d: exit %d\n%s", i, code, out)
		}
	}
	all := filepath.Join(base, "all")
	code, out, errs := runCLI(t, "merge", dirs[0], dirs[1], "--report-dir", all, "--output", "json")
	if code != exitFailed {
		t.Fatalf("merge: exit %d\n%s%s", code, out, errs)
	}
	var rep struct {
		Users      int `json:"users"`
		Violations []struct {
			Serial   string `json:"serial"`
			CauseKey string `json:"cause_key"`
		} `json:"violations"`
		Causes []stress.CauseGroup `json:"causes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Users != stress.DefaultUsers || len(rep.Violations) == 0 {
		t.Fatalf("merged: %d users, %d violations", rep.Users, len(rep.Violations))
	}
	// The shards' causes are the race (alone, or with what a shard's
	// evidence could not rule out), their tokens added up.
	explained, grouped := 0, 0
	for _, v := range rep.Violations {
		if v.CauseKey != "" {
			explained++
		}
	}
	for _, c := range rep.Causes {
		if c.Key != "race" || c.Tokens != len(c.Serials) {
			t.Errorf("merged cause %+v: want the race", c)
		}
		grouped += c.Tokens
	}
	if explained == 0 || grouped != explained {
		t.Fatalf("merged causes group %d tokens, %d violations have a cause", grouped, explained)
	}
	for _, v := range rep.Violations {
		if _, err := os.Stat(filepath.Join(all, "token-"+v.Serial+".html")); err != nil {
			t.Fatalf("timeline of %s not copied: %v", v.Serial, err)
		}
	}
	if code, _, errs := runCLI(t, "merge", dirs[0], dirs[0]); code != exitUsage || !strings.Contains(errs, "given twice") {
		t.Fatalf("a shard twice: exit %d, %q", code, errs)
	}
	bad := filepath.Join(base, "bad")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "report.json"), []byte(`{"schema":2}`), 0o644)
	if code, _, errs := runCLI(t, "merge", bad); code != exitUsage || !strings.Contains(errs, "schema 2") {
		t.Fatalf("schema 2: exit %d, %q", code, errs)
	}
}

// FuzzReadReport: reading a report.json never panics, and what it accepts
// writes back and reads again to the same report.
func FuzzReadReport(f *testing.F) {
	f.Add([]byte(`{"schema":1,"seed":3,"nodes":["a"],"users":2,"shard":"0/2","requests":5,"latency":{"check":{"n":1,"p50_ns":5,"p99_ns":6,"max_ns":7}},"violations":[{"serial":"1","summary":"s","before":[],"window":[]}]}`))
	f.Add([]byte(`{"schema":1,"seed":3,"shard":"1/2","causes":[{"key":"race","alternatives":["per-node-counter"],"summary":"s","tokens":1,"serials":["1"],"passing":4}],"explain_duration_ns":5,"violations":[{"serial":"1","summary":"s","cause":"s","cause_key":"race","alternatives":["per-node-counter"],"before":[],"window":[]},{"serial":"2","summary":"t","unexplained":"u","before":[],"window":[]}]}`))
	f.Add([]byte(`{"schema":1}`))
	f.Add([]byte(`{"schema":1,"extra":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := stress.ReadReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		again, err := stress.ReadReport(&b)
		if err != nil {
			t.Fatalf("a report read back fails: %v\n%s", err, b.String())
		}
		if again.Requests != rep.Requests || again.Seed != rep.Seed || len(again.Violations) != len(rep.Violations) {
			t.Fatalf("report changed on the way: %+v, then %+v", rep, again)
		}
	})
}

// One serve process on three ports is three nodes over one store: run and
// stress with the three endpoints find nothing wrong, and it shuts down.
func TestServeSeveralPortsAsNodes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, logs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--addr", "127.0.0.1:0", "--addr", "127.0.0.1:0"}, &out, &logs)
	}()
	var urls []string
	deadline := time.Now().Add(10 * time.Second)
	for len(urls) < 3 && time.Now().Before(deadline) {
		urls = regexp.MustCompile(`(?m)^serving .* at (http://127\.0\.0\.1:\d+/)$`).FindAllString(out.String(), -1)
		time.Sleep(10 * time.Millisecond)
	}
	if len(urls) != 3 {
		t.Fatalf("serve printed %d URLs: %s%s", len(urls), out.String(), logs.String())
	}
	var args []string
	for _, u := range urls {
		args = append(args, "--verifier", u[strings.LastIndex(u, " ")+1:])
	}
	if code, o, e := runCLI(t, append([]string{"run", "--checks", "10", "--seed", "2"}, args...)...); code != exitOK {
		t.Fatalf("run: exit %d\n%s%s", code, o, e)
	}
	if code, o, e := runCLI(t, append([]string{"stress", "--users", "20", "--duration", "2s", "--requests", "2000", "--seed", "2"}, args...)...); code != exitOK {
		t.Fatalf("stress: exit %d\n%s%s", code, o, e)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exit %d: %s", code, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compareRuns runs the look-ahead cases against the reference and against
// the buggy helper (look-ahead 20 while it claims 10), each over exec, and
// returns their report.json files.
func compareRuns(t *testing.T) (good, bad string) {
	t.Helper()
	dir := t.TempDir()
	for _, r := range []struct{ mode, name string }{{"reference", "good"}, {"buggy", "bad"}} {
		res := cli(t, context.Background(), "run", "--verifier", helperSpec(t, r.mode), "--run", `^rfc4226/7\.4/look-ahead-`,
			"--seed", "1", "--report-dir", filepath.Join(dir, r.name))
		require.Contains(t, []int{exitOK, exitFailed}, res.code, res.stderr)
	}
	return filepath.Join(dir, "good", "report.json"), filepath.Join(dir, "bad", "report.json")
}

func TestCompareCLI(t *testing.T) {
	good, bad := compareRuns(t)
	ctx := context.Background()

	// Good to bad: the look-ahead that reaches too far is a regression.
	html := filepath.Join(t.TempDir(), "matrix.html")
	res := cli(t, ctx, "compare", good, bad, "--fail-on", "regression", "--html", html)
	assert.Equal(t, exitFailed, res.code, res.stderr)
	assert.Regexp(t, `^conformance: 1 regression from .*good/report.json to .*bad/report.json: rfc4226/7\.4/look-ahead-beyond \(FAIL\)\n$`, res.stderr)
	assert.Contains(t, res.stdout, "[1] otplab reference verifier")
	assert.Contains(t, res.stdout, "[2] buggy verifier")
	assert.Regexp(t, `newly failing \(1\)\n\s+rfc4226/7\.4/look-ahead-beyond\s+PASS -> FAIL\n`, res.stdout)
	assert.Regexp(t, `(?m)^\s+look-ahead-beyond\s+PASS\s+FAIL\s+\*$`, res.stdout)
	page, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(page), `data-labels="PASS FAIL" data-differs="1"`)

	// Bad to good: fixed, exit 0 under the gate.
	res = cli(t, ctx, "compare", bad, good, "--fail-on", "regression")
	assert.Equal(t, exitOK, res.code, res.stderr)
	assert.Regexp(t, `fixed \(1\)\n\s+rfc4226/7\.4/look-ahead-beyond\s+FAIL -> PASS\n`, res.stdout)

	// Without the gate a regression does not change the exit code.
	res = cli(t, ctx, "compare", good, bad)
	assert.Equal(t, exitOK, res.code, res.stderr)

	// --json - prints the matrix instead of the text.
	res = cli(t, ctx, "compare", good, bad, good, "--json", "-")
	require.Equal(t, exitOK, res.code, res.stderr)
	var doc struct {
		Columns []struct {
			Verifier string `json:"verifier"`
		} `json:"columns"`
		Diff *json.RawMessage `json:"diff"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &doc))
	assert.Len(t, doc.Columns, 3)
	assert.Nil(t, doc.Diff, "no diff for three reports")
}

func TestCompareCLIBadInput(t *testing.T) {
	good, _ := compareRuns(t)
	dir := t.TempDir()
	notReport := filepath.Join(dir, "profile.json")
	require.NoError(t, os.WriteFile(notReport, []byte(`{"kinds":["hotp"]}`), 0o644))
	truncated := filepath.Join(dir, "half.json")
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(truncated, data[:len(data)/2], 0o644))
	unreadable := filepath.Join(dir, "secret.json")
	require.NoError(t, os.WriteFile(unreadable, data, 0o000))
	html := filepath.Join(dir, "out.html")

	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"not a report":    {[]string{good, notReport}, notReport + `: not a conformance report.json: it has no "results" list`},
		"truncated":       {[]string{truncated, good}, truncated + ": not a conformance report.json: "},
		"absent":          {[]string{good, filepath.Join(dir, "nope.json")}, filepath.Join(dir, "nope.json") + ": open: no such file or directory"},
		"a directory":     {[]string{good, dir}, dir + ": read: is a directory"},
		"no file":         {nil, "requires at least 1 arg"},
		"gate needs two":  {[]string{good, good, good, "--fail-on", "regression"}, "--fail-on regression: compares exactly two reports"},
		"bad gate":        {[]string{good, good, "--fail-on", "fixes"}, `--fail-on "fixes": want regression or none`},
		"html to a dir":   {[]string{good, good, "--html", dir}, "--html " + dir + ": a directory"},
		"html nowhere":    {[]string{good, good, "--html", filepath.Join(dir, "no", "x.html")}, "--html " + filepath.Join(dir, "no", "x.html") + ": stat: no such file"},
		"unreadable file": {[]string{good, unreadable, "--html", html}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "unreadable file" {
				if os.Geteuid() == 0 {
					t.Skip("root reads a mode-000 file")
				}
				c.want = unreadable + ": open: permission denied"
			}
			res := cli(t, context.Background(), append([]string{"compare"}, c.args...)...)
			assert.Equal(t, exitUsage, res.code)
			assert.True(t, strings.HasPrefix(res.stderr, "conformance: "+c.want), "stderr %q, want %q", res.stderr, c.want)
			assert.Equal(t, 1, strings.Count(res.stderr, "\n"), "one line: %q", res.stderr)
			assert.Empty(t, res.stdout, "nothing written before the error")
			_, err := os.Stat(html)
			assert.True(t, os.IsNotExist(err), "no half-written --html file")
		})
	}
}

package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/report"
)

// planted is the reference verifier with one planted bug, named (with a
// version) in its hello.
type planted struct {
	*reference.Verifier
	name string
	// replay accepts the last accepted code of a token again (RFC 4226
	// §7.2's MUST broken); plus strips a leading '+' (a SHOULD missed).
	replay, plus bool

	mu   sync.Mutex
	last map[string]string
}

func newPlanted(t *testing.T, name string, replay, plus bool) *planted {
	t.Helper()
	v, err := reference.New(reference.Default())
	require.NoError(t, err)
	return &planted{Verifier: v, name: name, replay: replay, plus: plus, last: map[string]string{}}
}

func (p *planted) Describe(ctx context.Context) (harness.Info, error) {
	info, err := p.Verifier.Describe(ctx)
	info.Name = p.name
	return info, err
}

func (p *planted) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	if p.plus {
		req.Code = strings.TrimPrefix(req.Code, "+")
	}
	if !p.replay {
		return p.Verifier.Check(ctx, req)
	}
	// One check at a time, so that the bug shows the same way in every
	// run: concurrent copies of one code are replays of the first.
	p.mu.Lock()
	defer p.mu.Unlock()
	if last, ok := p.last[req.Serial]; ok && last == req.Code {
		return harness.Reply{Accepted: true}, nil
	}
	rep, err := p.Verifier.Check(ctx, req)
	if err == nil && rep.Accepted {
		p.last[req.Serial] = req.Code
	}
	return rep, err
}

// The cases the comparison tests run: HOTP input hygiene, replay and
// look-ahead, no property cases (a few seconds in all).
const (
	caseReplay = "rfc4226/7.2/replay-accepted-code"
	// caseConcurrent fails under the replay bug too: seven of eight
	// copies of one code sent at once are replays of the first.
	caseConcurrent = "rfc4226/7.2/concurrent-same-code"
	casePlus       = "rfc4226/5.3/input-plus-sign"
	caseEdge       = "rfc4226/7.4/look-ahead-edge"
)

// runTo runs the selected cases against v and writes report.json into a
// fresh directory; it returns the file's name.
func runTo(t *testing.T, v harness.Verifier, run string) string {
	t.Helper()
	rep, err := harness.Execute(context.Background(), v, harness.Options{Run: regexp.MustCompile(run), Seed: 7, Checks: -1})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, report.Summarize(rep, report.Options{Spec: "in process"}).WriteDir(dir))
	return filepath.Join(dir, report.JSONFile)
}

// replayRegressions is what the replay bug breaks, in catalogue order.
var replayRegressions = []report.Change{{ID: caseReplay, Before: "PASS", After: "FAIL"}, {ID: caseConcurrent, Before: "PASS", After: "FAIL"}}

// flip swaps before and after.
func flip(chs []report.Change) []report.Change {
	out := make([]report.Change, len(chs))
	for i, ch := range chs {
		out[i] = report.Change{ID: ch.ID, Before: ch.After, After: ch.Before}
	}
	return out
}

const plantedRun = `^rfc4226/(5\.3|7\.2|7\.4/look-ahead)`

// plantedReports runs the correct reference and two planted verifiers and
// returns their report.json files, in that order.
func plantedReports(t *testing.T) (ok, replay, plus string) {
	t.Helper()
	ok = runTo(t, newPlanted(t, "correct 1.0", false, false), plantedRun)
	replay = runTo(t, newPlanted(t, "replayer v2.1", true, false), plantedRun)
	plus = runTo(t, newPlanted(t, "lenient", false, true), plantedRun)
	return ok, replay, plus
}

func readAll(t *testing.T, files ...string) []*report.Compared {
	t.Helper()
	var out []*report.Compared
	for _, f := range files {
		c, err := report.ReadCompared(f)
		require.NoError(t, err, f)
		out = append(out, c)
	}
	return out
}

// cell finds a row's cells by case ID.
func cells(t *testing.T, m *report.Matrix, id string) []string {
	t.Helper()
	for _, sec := range m.Sections {
		for _, row := range sec.Rows {
			if row.ID == id {
				var out []string
				for _, c := range row.Cells {
					out = append(out, report.CellLabel(c))
				}
				return out
			}
		}
	}
	t.Fatalf("no row %s", id)
	return nil
}

func TestCompareMatrixOfPlantedVerifiers(t *testing.T) {
	okFile, replayFile, plusFile := plantedReports(t)
	m := report.Compare(readAll(t, okFile, replayFile, plusFile))

	require.Len(t, m.Columns, 3)
	assert.Equal(t, []string{"correct 1.0", "replayer v2.1", "lenient"}, []string{m.Columns[0].Verifier, m.Columns[1].Verifier, m.Columns[2].Verifier})
	assert.Equal(t, []string{"1.0", "v2.1", ""}, []string{m.Columns[0].Version, m.Columns[1].Version, m.Columns[2].Version})
	assert.Equal(t, "7", m.Columns[0].Seed)
	assert.Nil(t, m.Diff, "no diff for three reports")
	assert.Empty(t, m.Notes)

	// Each planted bug shows in its own column, and only there.
	assert.Equal(t, []string{"PASS", "FAIL", "PASS"}, cells(t, m, caseReplay))
	assert.Equal(t, []string{"PASS", "FAIL", "PASS"}, cells(t, m, caseConcurrent))
	assert.Equal(t, []string{"PASS", "PASS", "NON-STRICT"}, cells(t, m, casePlus))
	assert.Equal(t, []string{"PASS", "PASS", "PASS"}, cells(t, m, caseEdge))
	for _, sec := range m.Sections {
		for _, row := range sec.Rows {
			assert.Equal(t, "PASS", report.CellLabel(row.Cells[0]), "the correct verifier is accused at %s", row.ID)
			lbl := []string{report.CellLabel(row.Cells[0]), report.CellLabel(row.Cells[1]), report.CellLabel(row.Cells[2])}
			assert.Equal(t, lbl[0] != lbl[1] || lbl[0] != lbl[2], row.Differs, row.ID)
		}
	}

	// Sections come in the order the catalogue first reaches them, rows
	// in catalogue order within each.
	rank, secRank := map[string]int{}, map[string]int{}
	for i, c := range harness.Cases() {
		rank[c.ID] = i
		if _, ok := secRank[c.Section]; !ok {
			secRank[c.Section] = len(secRank)
		}
	}
	lastSec := -1
	for _, sec := range m.Sections {
		assert.Greater(t, secRank[sec.Name], lastSec, "section %s out of catalogue order", sec.Name)
		lastSec = secRank[sec.Name]
		last := -1
		for _, row := range sec.Rows {
			assert.Greater(t, rank[row.ID], last, "row %s out of catalogue order", row.ID)
			last = rank[row.ID]
			assert.Equal(t, sec.Name, row.ID[:strings.LastIndexByte(row.ID, '/')])
		}
	}

	// The failing cell carries its story and replay seed.
	for _, sec := range m.Sections {
		for _, row := range sec.Rows {
			if row.ID == caseReplay {
				c := row.Cells[1]
				assert.NotEmpty(t, c.Messages)
				assert.NotEmpty(t, c.Seed)
				assert.Equal(t, harness.MUST, row.Level)
			}
		}
	}

	var text bytes.Buffer
	require.NoError(t, m.WriteText(&text, true))
	out := text.String()
	assert.Contains(t, out, "[2] replayer v2.1")
	assert.Regexp(t, `(?m)^\s+replay-accepted-code\s+PASS\s+FAIL\s+PASS\s+\*$`, out)
	assert.NotContains(t, out, "look-ahead-edge", "--only-differing shows a row whose cells agree")
}

func TestCompareDiffAndRegressions(t *testing.T) {
	okFile, replayFile, _ := plantedReports(t)

	// From the correct verifier to the planted one: a regression.
	m := report.Compare(readAll(t, okFile, replayFile))
	require.NotNil(t, m.Diff)
	assert.Equal(t, replayRegressions, m.Diff.NewlyFailing)
	assert.Equal(t, m.Diff.NewlyFailing, m.Regressions())
	assert.Empty(t, m.Diff.Fixed)
	assert.Empty(t, m.Diff.Changed)
	assert.Empty(t, m.Diff.Added)
	assert.Empty(t, m.Diff.Removed)

	// Back again: fixed, no regression.
	back := report.Compare(readAll(t, replayFile, okFile))
	assert.Equal(t, flip(replayRegressions), back.Diff.Fixed)
	assert.Empty(t, back.Regressions())
	assert.Empty(t, back.Diff.NewlyFailing)

	// The same report twice: nothing changed.
	same := report.Compare(readAll(t, okFile, okFile))
	assert.Empty(t, same.Regressions())
	var text bytes.Buffer
	require.NoError(t, same.WriteText(&text, false))
	assert.Contains(t, text.String(), "nothing: every case has the same verdict")
}

// TestCompareMissingCases: a report that ran fewer cases (or an older
// catalogue) is compared by case ID; what it lacks shows as MISSING and in
// the diff as added or removed, never as a regression.
func TestCompareMissingCases(t *testing.T) {
	full := runTo(t, newPlanted(t, "correct 1.0", false, false), plantedRun)
	part := runTo(t, newPlanted(t, "replayer 2", true, false), `^rfc4226/7\.2/`)
	m := report.Compare(readAll(t, full, part))
	assert.Equal(t, []string{"PASS", "MISSING"}, cells(t, m, casePlus))
	assert.Equal(t, []string{"PASS", "FAIL"}, cells(t, m, caseReplay))
	assert.NotEmpty(t, m.Diff.Removed)
	for _, ch := range m.Diff.Removed {
		assert.Equal(t, "", ch.After)
		assert.NotRegexp(t, `^rfc4226/7\.2/`, ch.ID)
	}
	assert.Empty(t, m.Diff.Added)
	assert.Equal(t, replayRegressions, m.Regressions())
	require.Len(t, m.Notes, 1)
	assert.Contains(t, m.Notes[0], "lacks")

	rev := report.Compare(readAll(t, part, full))
	assert.Len(t, rev.Diff.Added, len(m.Diff.Removed))
	assert.Equal(t, flip(replayRegressions), rev.Diff.Fixed)
}

// olderSchema rewrites a report.json as a report written before the
// schema field and the twin fields existed: no schema, no section, no
// seed_string, no causes, no replay, no known; plus a case this
// catalogue does not know.
func olderSchema(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(data, &doc))
	for _, k := range []string{"schema", "seed_string", "causes", "replay", "profile_counters", "outcome", "counts"} {
		delete(doc, k)
	}
	results := doc["results"].([]any)
	for _, r := range results {
		for _, k := range []string{"section", "seed_string", "known", "expect", "explanation"} {
			delete(r.(map[string]any), k)
		}
	}
	doc["results"] = append(results, map[string]any{"id": "rfc4226/7.2/retired-case", "verdict": "FAIL", "messages": []string{"gone"}})
	out, err := json.Marshal(doc)
	require.NoError(t, err)
	name := filepath.Join(t.TempDir(), "old.json")
	require.NoError(t, os.WriteFile(name, out, 0o644))
	return name
}

func TestCompareOlderSchema(t *testing.T) {
	okFile, replayFile, _ := plantedReports(t)
	old := olderSchema(t, replayFile)
	m := report.Compare(readAll(t, old, okFile))
	assert.Equal(t, 0, m.Columns[0].Schema)
	assert.Equal(t, "7", m.Columns[0].Seed, "the seed is read from the number when the string twin is absent")
	assert.Equal(t, []string{"FAIL", "PASS"}, cells(t, m, caseReplay))
	assert.Equal(t, []string{"FAIL", "MISSING"}, cells(t, m, "rfc4226/7.2/retired-case"))
	assert.Equal(t, []report.Change{{ID: "rfc4226/7.2/retired-case", Before: "FAIL", After: ""}}, m.Diff.Removed)
	assert.Equal(t, flip(replayRegressions), m.Diff.Fixed)
	// The unknown case comes after every case of the catalogue's sections
	// in its own section's place: its section is derived from its ID.
	found := false
	for _, sec := range m.Sections {
		for _, row := range sec.Rows {
			if row.ID == "rfc4226/7.2/retired-case" {
				found = true
				assert.Equal(t, "rfc4226/7.2", sec.Name)
				assert.Equal(t, sec.Rows[len(sec.Rows)-1].ID, row.ID)
			}
		}
	}
	assert.True(t, found)

	// A newer schema is read by case ID, with a note.
	data, err := os.ReadFile(okFile)
	require.NoError(t, err)
	newer := filepath.Join(t.TempDir(), "newer.json")
	require.NoError(t, os.WriteFile(newer, bytes.Replace(data, []byte(`"schema": 1,`), []byte(`"schema": 99, "field_of_the_future": {"x": 1},`), 1), 0o644))
	m = report.Compare(readAll(t, okFile, newer))
	assert.Empty(t, m.Regressions())
	require.Len(t, m.Notes, 1)
	assert.Contains(t, m.Notes[0], "schema 99 is newer")
}

func TestReadComparedRejects(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"garbage":    "this is not json",
		"array":      `[1, 2]`,
		"no-results": `{"schema": 1, "verifier": "x"}`,
		"bad-result": `{"results": [{"verdict": "PASS"}]}`,
		"verdict":    `{"results": [{"id": "a/b", "verdict": "MAYBE"}]}`,
		"twice":      `{"results": [{"id": "a/b", "verdict": "PASS"}, {"id": "a/b", "verdict": "FAIL"}]}`,
		"started":    `{"started": "yesterday", "results": []}`,
		"type":       `{"results": {"id": "a"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name+".json")
			require.NoError(t, os.WriteFile(f, []byte(body), 0o644))
			_, err := report.ReadCompared(f)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), f+": "), err.Error())
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, err := report.ReadCompared(filepath.Join(dir, "absent.json"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "absent.json: open: no such file or directory")
}

func TestCompareHTMLSelfContainedAndEscaped(t *testing.T) {
	okFile, replayFile, _ := plantedReports(t)
	cols := readAll(t, okFile, replayFile)
	cols[1].Verifier = `<script>alert("x")</script> v2.1`
	m := report.Compare(cols)
	var b bytes.Buffer
	require.NoError(t, m.WriteHTML(&b))
	page := b.String()
	assert.NotContains(t, page, `<script>alert`)
	assert.Contains(t, page, `&lt;script&gt;alert`)
	for _, ref := range []string{`src=`, `href="http`, `@import`, `url(`} {
		assert.NotContains(t, page, ref, "the page must load nothing")
	}
	// The regression is in the diff, linked to its row, and the row is
	// marked as differing with both labels for the filters.
	assert.Contains(t, page, `What changed from [1] to [2]`)
	assert.Contains(t, page, `2 regressions (PASS became FAIL, NON-STRICT or ERROR)`)
	assert.Regexp(t, `<tr class="row differs" id="c-rfc4226_2f7_2e2_2freplay-accepted-code" data-labels="PASS FAIL" data-differs="1">`, page)
	assert.Contains(t, page, `href="#c-rfc4226_2f7_2e2_2freplay-accepted-code"`)

	var j bytes.Buffer
	require.NoError(t, m.WriteJSON(&j))
	var back struct {
		Schema  int `json:"schema"`
		Columns []struct {
			Verifier string          `json:"verifier"`
			Profile  json.RawMessage `json:"profile"`
		} `json:"columns"`
		Diff struct {
			Regressions []report.Change `json:"regressions"`
		} `json:"diff"`
	}
	require.NoError(t, json.Unmarshal(j.Bytes(), &back))
	assert.Equal(t, report.CompareSchema, back.Schema)
	assert.Len(t, back.Columns, 2)
	assert.Equal(t, replayRegressions, back.Diff.Regressions)
	assert.True(t, json.Valid(back.Columns[0].Profile))
}

// FuzzParseCompared: any input either parses into a report whose every
// result has an ID and a known verdict, or is refused with a one-line
// error.
func FuzzParseCompared(f *testing.F) {
	f.Add([]byte(`{"schema":1,"verifier":"x 1.2","seed":7,"results":[{"id":"a/b","verdict":"PASS"}]}`))
	f.Add([]byte(`{"results":[]}`))
	f.Add([]byte(`{"results":[{"id":"a","verdict":"FAIL","known":true,"explanation":{"cause":"k"}}],"causes":[{"key":"k","summary":"s","cases":["a"]}]}`))
	f.Add([]byte(`nope`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := report.ParseCompared(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		for id, r := range c.Results {
			if id == "" || r.ID != id || report.CellLabel(r) == report.Missing {
				t.Fatalf("bad result %q: %+v", id, r)
			}
		}
		m := report.Compare([]*report.Compared{c, c})
		if len(m.Regressions()) != 0 {
			t.Fatalf("a report regresses against itself: %v", m.Regressions())
		}
		if err := m.WriteHTML(new(bytes.Buffer)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVersionIn(t *testing.T) {
	for name, want := range map[string]string{
		"django-otp 1.1.3": "1.1.3", "liboath 2.6.7 (oath_authenticate_usersfile, window 5)": "2.6.7",
		"google-authenticator-libpam 20191231-2": "20191231-2", "replayer v2.1": "v2.1", "pyshim": "", "": "",
		"3.0": "", "node verifier (window 5)": "", "tool 1.2, patched": "",
	} {
		c, err := report.ParseCompared([]byte(`{"verifier": ` + strconv.Quote(name) + `, "results": []}`))
		require.NoError(t, err)
		assert.Equal(t, want, c.Version, name)
		assert.Equal(t, name, c.Verifier)
	}
}

// TestCompareFoldedSkips: the engine leaves out the cases of a section
// that its first case SKIPs for all of them, and counts them as selected;
// such a case is shown as a folded SKIP, not as missing, and only then.
func TestCompareFoldedSkips(t *testing.T) {
	full, err := report.ParseCompared([]byte(`{"results": [{"id": "otplab/flows/purposes", "verdict": "PASS"},
		{"id": "otplab/flows/spent-for-all", "verdict": "FAIL"}, {"id": "rfc4226/5.4/appendix-d", "verdict": "PASS"}]}`))
	require.NoError(t, err)
	folded, err := report.ParseCompared([]byte(`{"counts": {"selected": 3}, "results": [
		{"id": "otplab/flows/purposes", "verdict": "SKIP", "messages": ["the profile does not claim flows"]},
		{"id": "rfc4226/5.4/appendix-d", "verdict": "PASS"}]}`))
	require.NoError(t, err)
	cut, err := report.ParseCompared([]byte(`{"counts": {"selected": 3}, "interrupted": true, "results": [
		{"id": "otplab/flows/purposes", "verdict": "SKIP"}, {"id": "rfc4226/5.4/appendix-d", "verdict": "PASS"}]}`))
	require.NoError(t, err)

	m := report.Compare([]*report.Compared{full, folded})
	assert.Equal(t, []string{"FAIL", "SKIP"}, cells(t, m, "otplab/flows/spent-for-all"))
	for _, sec := range m.Sections {
		for _, row := range sec.Rows {
			if row.ID == "otplab/flows/spent-for-all" {
				assert.True(t, row.Cells[1].Folded)
				assert.Contains(t, row.Cells[1].Messages[0], "otplab/flows/purposes SKIPs: the profile does not claim flows")
			}
		}
	}
	assert.Empty(t, m.Diff.Removed, "a folded SKIP is not a removed case")
	assert.Equal(t, []report.Change{{ID: "otplab/flows/purposes", Before: "PASS", After: "SKIP"},
		{ID: "otplab/flows/spent-for-all", Before: "FAIL", After: "SKIP"}}, m.Diff.Changed)
	assert.Empty(t, m.Notes)

	// An interrupted run's absent cases are missing, not skipped.
	m = report.Compare([]*report.Compared{full, cut})
	assert.Equal(t, []string{"FAIL", "MISSING"}, cells(t, m, "otplab/flows/spent-for-all"))
}

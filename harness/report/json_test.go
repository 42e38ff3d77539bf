package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report"
)

// field is one documented field of report.json.
type field struct {
	name, typ string
	optional  bool
}

// schemaDoc reads the field tables of docs/report.md: each "### `path`"
// heading (several paths may share one) followed by a table of
// "| `name` | type | meaning |" rows. "### The document" is the path ".".
func schemaDoc(t *testing.T) map[string][]field {
	t.Helper()
	data, err := os.ReadFile("../../docs/report.md")
	require.NoError(t, err)
	_, jsonPart, ok := strings.Cut(string(data), "\n## report.json\n")
	require.True(t, ok, "docs/report.md has a report.json section")
	jsonPart, _, _ = strings.Cut(jsonPart, "\n## ")
	heading := regexp.MustCompile("^### (.*)$")
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| ([a-z ,]+?) \\| .+ \\|$")
	paths := regexp.MustCompile("`([^`]+)`")
	out := map[string][]field{}
	var current []string
	for _, line := range strings.Split(jsonPart, "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			current = nil
			if m[1] == "The document" {
				current = []string{"."}
			}
			for _, p := range paths.FindAllStringSubmatch(m[1], -1) {
				current = append(current, p[1])
			}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && current != nil {
			typ, opt := strings.CutSuffix(m[2], ", optional")
			for _, p := range current {
				out[p] = append(out[p], field{name: m[1], typ: typ, optional: opt})
			}
		}
	}
	return out
}

// validate checks a decoded report.json against the documented schema:
// every field documented, every required field present, every type as
// documented. It returns the problems found.
func validate(schema map[string][]field, doc map[string]any) []string {
	var problems []string
	var walk func(path string, obj map[string]any)
	walk = func(path string, obj map[string]any) {
		fields, ok := schema[path]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: no table in docs/report.md", path))
			return
		}
		documented := map[string]field{}
		for _, f := range fields {
			documented[f.name] = f
			if _, present := obj[f.name]; !present && !f.optional {
				problems = append(problems, fmt.Sprintf("%s: required field %q missing", path, f.name))
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := obj[k]
			f, ok := documented[k]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: field %q is not documented", path, k))
				continue
			}
			child := k
			if path != "." {
				child = path + "." + k
			}
			if msg := checkType(f.typ, v); msg != "" {
				problems = append(problems, fmt.Sprintf("%s: %s", child, msg))
				continue
			}
			switch v := v.(type) {
			case map[string]any:
				if k == "profile" || k == "replay" { // docs/protocol.md; a map
					continue
				}
				walk(child, v)
			case []any:
				for _, e := range v {
					if m, ok := e.(map[string]any); ok {
						walk(child+"[]", m)
					}
				}
			}
		}
	}
	walk(".", doc)
	return problems
}

func checkType(typ string, v any) string {
	ok := false
	switch typ {
	case "string":
		_, ok = v.(string)
	case "integer":
		n, isNum := v.(json.Number)
		if isNum {
			_, err := strconv.ParseInt(string(n), 10, 64)
			_, uerr := strconv.ParseUint(string(n), 10, 64)
			ok = err == nil || uerr == nil
		}
	case "boolean":
		_, ok = v.(bool)
	case "object":
		_, ok = v.(map[string]any)
	case "array of strings", "array of objects", "array of integers":
		arr, isArr := v.([]any)
		ok = isArr
		for _, e := range arr {
			if typ == "array of strings" {
				_, s := e.(string)
				ok = ok && s
			} else if typ == "array of integers" {
				ok = ok && checkType("integer", e) == ""
			} else {
				_, o := e.(map[string]any)
				ok = ok && o
			}
		}
	default:
		return fmt.Sprintf("docs/report.md names an unknown type %q", typ)
	}
	if !ok {
		return fmt.Sprintf("is %T, docs/report.md says %s", v, typ)
	}
	return ""
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	require.NoError(t, dec.Decode(&doc))
	return doc
}

func jsonOf(t *testing.T, s *report.Summary) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, s.WriteJSON(&b))
	return b.Bytes()
}

// TestJSONMatchesDocs: report.json, for a full run, a run with the expect
// file and causes, and a run that could not start, has exactly the fields
// docs/report.md documents, with their types; and the validator catches
// an undocumented field, a missing one and a wrong type.
func TestJSONMatchesDocs(t *testing.T) {
	schema := schemaDoc(t)
	require.Contains(t, schema, ".")
	require.Contains(t, schema, "results[]")
	require.Contains(t, schema, "results[].explanation")
	require.Contains(t, schema, "expect[]")
	for name, s := range map[string]*report.Summary{
		"full":        report.Summarize(fakeReport(), fakeOptions()),
		"plain":       report.Summarize(fakeReport(), report.Options{}),
		"no start":    report.Summarize(nil, report.Options{Spec: "exec:x", StartError: errHello}),
		"with probe":  report.Summarize(fakeReport(), report.Options{Probe: fakeProbe()}),
		"interrupted": report.Summarize(interrupted(), report.Options{Selected: 60}),
	} {
		t.Run(name, func(t *testing.T) {
			doc := decode(t, jsonOf(t, s))
			assert.Empty(t, validate(schema, doc))
		})
	}

	// The validator can fail.
	doc := decode(t, jsonOf(t, report.Summarize(fakeReport(), fakeOptions())))
	doc["surprise"] = true
	delete(doc, "seed_string")
	doc["counts"].(map[string]any)["pass"] = "3"
	doc["results"].([]any)[0].(map[string]any)["extra"] = 1
	assert.ElementsMatch(t, []string{
		`.: field "surprise" is not documented`,
		`.: required field "seed_string" missing`,
		`counts.pass: is string, docs/report.md says integer`,
		`results[]: field "extra" is not documented`,
	}, validate(schema, doc))
}

func interrupted() *harness.Report {
	r := fakeReport()
	r.Interrupted = true
	return r
}

// TestJSONExact: every seed and the counter range are also decimal
// strings; known failures and listed ERRORs are marked.
func TestJSONExact(t *testing.T) {
	var d report.Document
	require.NoError(t, json.Unmarshal(jsonOf(t, report.Summarize(fakeReport(), fakeOptions())), &d))
	assert.Equal(t, runSeed, d.Seed)
	assert.Equal(t, "18446744073709551557", d.SeedString)
	assert.Equal(t, report.CounterStrings{Min: "0", Max: "18446744073709551615"}, d.ProfileCounters)
	byID := map[string]report.ResultDoc{}
	for _, r := range d.Results {
		assert.Equal(t, strconv.FormatUint(r.Seed, 10), r.SeedString, r.ID)
		byID[r.ID] = r
	}
	assert.Equal(t, "9007199254740993", byID["rfc4226/5.1/counter-2^53"].SeedString)
	known := byID["rfc4226/5.1/counter-2^64"]
	assert.True(t, known.Known)
	require.NotNil(t, known.Expect)
	assert.Equal(t, report.Known, known.Expect.Kind)
	assert.False(t, byID["rfc4226/5.1/counter-2^53"].Known)
	errCase := byID["rfc4226/7.2/concurrent-same-code"]
	require.NotNil(t, errCase.Expect)
	assert.Equal(t, report.NotJudged, errCase.Expect.Kind, "an expected case that ended in ERROR says so")
	assert.False(t, errCase.Known)
	assert.Equal(t, 1, d.Counts.Known)
	assert.Equal(t, "throttle", byID["otplab/model/hotp-sequences"].Explanation.Cause)
	require.Len(t, d.Causes, 2)
	assert.Equal(t, []string{"rfc4226/5.1/counter-2^53", "rfc4226/5.1/counter-2^64"}, d.Causes[1].Cases)
	assert.Equal(t, "3", fmt.Sprint(len(d.Expect)))

	// A profile without counters: the defaults, as strings.
	rep := fakeReport()
	rep.Profile.Counters = nil
	require.NoError(t, json.Unmarshal(jsonOf(t, report.Summarize(rep, report.Options{})), &d))
	assert.Equal(t, report.CounterStrings{Min: "0", Max: "18446744073709551615"}, d.ProfileCounters)
}

// TestJSONClockSet: clock_set carries the engine's ClockSet, both ways.
func TestJSONClockSet(t *testing.T) {
	for _, set := range []bool{false, true} {
		rep := fakeReport()
		rep.ClockSet = set
		var d map[string]any
		require.NoError(t, json.Unmarshal(jsonOf(t, report.Summarize(rep, fakeOptions())), &d))
		assert.Equal(t, set, d["clock_set"])
	}
}

// TestJSONClockCheck: clock_check carries the engine's clock check, with
// the fields docs/report.md documents; absent when the clock was not set.
func TestJSONClockCheck(t *testing.T) {
	schema := schemaDoc(t)
	rep := fakeReport()
	reads := int64(9223372035)
	rep.ClockCheck = &harness.ClockCheck{Verdict: harness.ClockPartial, Follows: []int64{59, 1767225600},
		Misses: []harness.ClockMiss{{Time: 19999999995, Reads: &reads, Reason: "it stops"}, {Time: 30, Reason: "not found"}},
		Note:   "partial", Requests: 70}
	doc := decode(t, jsonOf(t, report.Summarize(rep, fakeOptions())))
	assert.Empty(t, validate(schema, doc))
	var d report.Document
	require.NoError(t, json.Unmarshal(jsonOf(t, report.Summarize(rep, fakeOptions())), &d))
	assert.Equal(t, rep.ClockCheck, d.ClockCheck)
	doc["clock_check"].(map[string]any)["follows"] = []any{"59"}
	assert.Equal(t, []string{"clock_check.follows: is []interface {}, docs/report.md says array of integers"}, validate(schema, doc))
	plain := decode(t, jsonOf(t, report.Summarize(fakeReport(), fakeOptions())))
	assert.NotContains(t, plain, "clock_check")
}

// TestJSONParseInNode reads report.json with JavaScript's JSON.parse, as
// a dashboard would: the *_string fields give every seed and the counter
// range exactly, while the plain numbers do not (which shows the strings
// are needed).
func TestJSONParseInNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	file := filepath.Join(t.TempDir(), "report.json")
	require.NoError(t, os.WriteFile(file, jsonOf(t, report.Summarize(fakeReport(), fakeOptions())), 0o644))
	script := `
const doc = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
const out = {
  seed: doc.seed_string,
  seedExactAsNumber: BigInt(doc.seed_string) === BigInt(doc.seed),
  results: doc.results.map((r) => r.seed_string),
  resultsExactAsNumber: doc.results.every((r) => BigInt(r.seed_string) === BigInt(r.seed)),
  max: doc.profile_counters.max,
  known: doc.results.filter((r) => r.known).map((r) => r.id),
};
process.stdout.write(JSON.stringify(out));
`
	out, err := exec.Command(node, "-e", script, file).CombinedOutput()
	require.NoError(t, err, "%s", out)
	var got struct {
		Seed                 string   `json:"seed"`
		SeedExactAsNumber    bool     `json:"seedExactAsNumber"`
		Results              []string `json:"results"`
		ResultsExactAsNumber bool     `json:"resultsExactAsNumber"`
		Max                  string   `json:"max"`
		Known                []string `json:"known"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.Equal(t, strconv.FormatUint(runSeed, 10), got.Seed)
	assert.False(t, got.SeedExactAsNumber, "JSON.parse rounds the number: the string is needed")
	for _, s := range got.Results {
		assert.Equal(t, strconv.FormatUint(caseSeed, 10), s)
	}
	assert.False(t, got.ResultsExactAsNumber)
	assert.Equal(t, "18446744073709551615", got.Max)
	assert.Equal(t, []string{"rfc4226/5.1/counter-2^64"}, got.Known)
}

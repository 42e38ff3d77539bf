package report_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report"
)

func text(t *testing.T, s *report.Summary) string {
	t.Helper()
	var b strings.Builder
	require.NoError(t, s.WriteText(&b))
	return b.String()
}

// TestSummarize: the outcome and the failing list follow the verdicts and
// the expect file.
func TestSummarize(t *testing.T) {
	s := report.Summarize(fakeReport(), fakeOptions())
	assert.Equal(t, report.Incomplete, s.Outcome, "a case ended in ERROR")
	assert.Equal(t, 3, s.ExitCode())
	assert.Equal(t, []string{"rfc4226/7.4/look-ahead-edge", "rfc4226/5.1/counter-2^53", "rfc4226/7.3/lockout-after-f", "otplab/model/hotp-sequences"}, s.Failing,
		"report order (sections in catalogue order); the known failure left out; the unexpected pass in")

	rep := fakeReport()
	rep.Results = slices_delete(rep.Results, "rfc4226/7.2/concurrent-same-code")
	s = report.Summarize(rep, fakeOptions())
	assert.Equal(t, report.Failed, s.Outcome)
	assert.Equal(t, 1, s.ExitCode())

	s = report.Summarize(nil, report.Options{StartError: errHello})
	assert.Equal(t, report.Incomplete, s.Outcome)
	assert.Equal(t, errHello.Error(), s.Headline())
}

func slices_delete(rs []harness.Result, id string) []harness.Result {
	var out []harness.Result
	for _, r := range rs {
		if r.ID != id {
			out = append(out, r)
		}
	}
	return out
}

// TestHeadlinePlural: "1 case failed", not "1 cases failed".
func TestHeadlinePlural(t *testing.T) {
	one := &harness.Report{Results: []harness.Result{{ID: "rfc4226/5.4/appendix-d", Section: "rfc4226/5.4", Verdict: harness.Fail}}}
	assert.Equal(t, "1 case failed: rfc4226/5.4/appendix-d", report.Summarize(one, report.Options{}).Headline())
	one.Results[0].Verdict = harness.Error
	assert.Equal(t, "incomplete: 1 case ended in ERROR (the verifier could not be judged)", report.Summarize(one, report.Options{}).Headline())
	two := &harness.Report{Results: []harness.Result{
		{ID: "rfc4226/5.4/appendix-d", Section: "rfc4226/5.4", Verdict: harness.Fail},
		{ID: "rfc4226/7.2/current-code", Section: "rfc4226/7.2", Verdict: harness.Fail},
	}}
	assert.Equal(t, "2 cases failed: rfc4226/5.4/appendix-d, rfc4226/7.2/current-code", report.Summarize(two, report.Options{}).Headline())
	two.Interrupted = true
	assert.Equal(t, "interrupted after 2 of 1 case", report.Summarize(two, report.Options{Selected: 1}).Headline())
}

// TestSectionsCatalogueOrder: whatever order the results come in,
// sections and the cases in each follow the catalogue.
func TestSectionsCatalogueOrder(t *testing.T) {
	var results []harness.Result
	for _, c := range harness.Cases() {
		results = append(results, harness.Result{ID: c.ID, Section: c.Section, Verdict: harness.Pass})
	}
	want := report.Sections(results)
	var wantSections []string
	for _, s := range want {
		wantSections = append(wantSections, s.Name)
	}
	// Catalogue order: the first section of the catalogue first, each
	// section once.
	assert.Equal(t, harness.Cases()[0].Section, wantSections[0])
	seen := map[string]bool{}
	for _, s := range wantSections {
		assert.False(t, seen[s], "section %s twice", s)
		seen[s] = true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := append([]harness.Result(nil), results...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		assert.Equal(t, want, report.Sections(shuffled))
	}
	// A case the catalogue does not know goes after the known ones.
	extra := append([]harness.Result{{ID: "vendor/x/y", Section: "vendor/x"}}, results...)
	got := report.Sections(extra)
	assert.Equal(t, "vendor/x", got[len(got)-1].Name)
}

// TestTextCausesFirst: the causes block comes before the sections and
// names each cause's summary, claim and cases.
func TestTextCausesFirst(t *testing.T) {
	out := text(t, report.Summarize(fakeReport(), fakeOptions()))
	causes := strings.Index(out, "\nCauses: what explains the failures\n")
	require.Positive(t, causes, out)
	first := strings.Index(out, "\nrfc4226/5.4\n")
	require.Positive(t, first, out)
	assert.Less(t, causes, first, "causes before the first section")
	assert.Contains(t, out, "  1. a delay after failures, not claimed (2 cases)\n")
	assert.Contains(t, out, `     claim it in the profile: "throttle": {"after": 1, "delay": 1, "factor": 2}`+"\n")
	assert.Contains(t, out, "     rfc4226/7.3/lockout-after-f otplab/model/hotp-sequences\n")
	assert.Contains(t, out, "  2. counters kept as IEEE doubles: exact only up to 2^53 (2 cases)\n")
	// Each failure names its cause.
	assert.Contains(t, out, "              cause: a delay after failures, not claimed\n")
	assert.Contains(t, out, "              consistent with: throttling after 1 failure, delay 1 s, factor 2\n")
	// The script and the replay command.
	assert.Contains(t, out, "              script:\n                1. enroll a C100 at counter 0\n")
	assert.Contains(t, out, "              replay: conformance run --verifier http://127.0.0.1:8080/otp --run '^otplab/model/hotp-sequences$' --seed 18446744073709551557\n")

	// Sections in catalogue order in the text too.
	var order []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  ") && len(strings.Fields(l)) >= 2 && strings.Contains(l, "/") && !strings.HasPrefix(l, "   ") {
			order = append(order, strings.Fields(l)[1])
		}
	}
	var want []string
	for _, sec := range report.Sections(fakeReport().Results) {
		for _, r := range sec.Results {
			want = append(want, r.ID)
		}
	}
	assert.Equal(t, want, order)
	assert.Equal(t, "rfc4226/5.4/appendix-d", order[0], "the catalogue's first section first")
	assert.Equal(t, "otplab/model/hotp-sequences", order[len(order)-1], "the property cases last")

	rep := fakeReport()
	rep.Causes = nil
	assert.NotContains(t, text(t, report.Summarize(rep, fakeOptions())), "Causes")
}

// TestTextCosmetics: what the vendor saw. The failing list is printed
// once (by the headline, not the text), a known failure is KNOWN, a
// listed case that ended in ERROR says so, and a failed hello is said
// once.
func TestTextCosmetics(t *testing.T) {
	s := report.Summarize(fakeReport(), fakeOptions())
	out := text(t, s)
	assert.NotContains(t, out, "failing:")
	assert.Contains(t, out, "  KNOWN       rfc4226/5.1/counter-2^64 (1.5ms)\n              known failure: FAIL, as the expect file says (line 1)\n")
	assert.NotContains(t, out, "  FAIL        rfc4226/5.1/counter-2^64")
	assert.Contains(t, out, "  PASS!       rfc4226/7.4/look-ahead-edge (1.5ms)\n              unexpected pass: the expect file (line 3) lists it as FAIL\n")
	assert.Contains(t, out, "  ERROR!      rfc4226/7.2/concurrent-same-code (1.5ms)\n              the expect file (line 2) lists it as FLAKY, but it ended in ERROR")
	assert.True(t, strings.HasSuffix(out, "\n3 passed, 4 failed, 1 non-strict, 1 skipped, 1 errors (1 as expected by known.txt)\n"), out)
	assert.Contains(t, s.Headline(), "1 case ended in ERROR")

	hello := text(t, report.Summarize(nil, report.Options{Spec: "exec:sh -c 'exit 1'", StartError: errHello}))
	assert.Equal(t, 1, strings.Count(hello, "did not answer hello"), hello)
	assert.Contains(t, hello, "verifier: exec:sh -c 'exit 1'\nthe run could not start: verifier did not answer hello: hello: transport failure")
}

// TestLabel: the word progress and the text show for a result.
func TestLabel(t *testing.T) {
	fail := harness.Result{Verdict: harness.Fail}
	pass := harness.Result{Verdict: harness.Pass}
	assert.Equal(t, "FAIL", report.Label(fail, report.Expectation{}, false))
	assert.Equal(t, "KNOWN", report.Label(fail, report.Expectation{Kind: report.Known}, true))
	assert.Equal(t, "PASS", report.Label(pass, report.Expectation{Kind: report.Known}, true), "FLAKY that passed")
	assert.Equal(t, "PASS!", report.Label(pass, report.Expectation{Kind: report.UnexpectedPass}, true))
	assert.Equal(t, "ERROR!", report.Label(harness.Result{Verdict: harness.Error}, report.Expectation{Kind: report.NotJudged}, true))
}

// TestSectionsProperty: for any subset of the catalogue in any order,
// Sections keeps every result once, groups each section in one block,
// and orders sections and cases as the catalogue does.
func TestSectionsProperty(t *testing.T) {
	cases := harness.Cases()
	rank := map[string]int{}
	secRank := map[string]int{}
	for i, c := range cases {
		rank[c.ID] = i
		if _, ok := secRank[c.Section]; !ok {
			secRank[c.Section] = len(secRank)
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		picked := rapid.SliceOfDistinct(rapid.IntRange(0, len(cases)-1), rapid.ID[int]).Draw(rt, "cases")
		var results []harness.Result
		for _, i := range picked {
			results = append(results, harness.Result{ID: cases[i].ID, Section: cases[i].Section})
		}
		got := report.Sections(results)
		n, lastSec, seen := 0, -1, map[string]bool{}
		for _, sec := range got {
			if seen[sec.Name] {
				rt.Fatalf("section %s in two blocks", sec.Name)
			}
			seen[sec.Name] = true
			if secRank[sec.Name] <= lastSec {
				rt.Fatalf("section %s out of catalogue order", sec.Name)
			}
			lastSec = secRank[sec.Name]
			last := -1
			for _, r := range sec.Results {
				n++
				if r.Section != sec.Name || rank[r.ID] <= last {
					rt.Fatalf("%s out of place in %s", r.ID, sec.Name)
				}
				last = rank[r.ID]
			}
		}
		if n != len(results) {
			rt.Fatalf("%d results in, %d out", len(results), n)
		}
	})
}

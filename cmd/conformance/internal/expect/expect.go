// Package expect reads the conformance CLI's expect file, the list of a
// verifier's known failures, and judges a run's results against it.
//
// The format is line-based text:
//
//	# comments start with '#', blank lines are ignored
//	rfc4226/5.3/digits-8                 FAIL        # liboath truncates to 6 digits
//	rfc4226/7.4/look-ahead-window-moves  NON-STRICT
//	rfc4226/7.2/concurrent-same-code     FLAKY       # fails now and then
//	otplab/model/hotp-sequences                      # no verdict: FAIL
//
// Each line names one case ID and, optionally, the verdict expected:
// FAIL (the default), NON-STRICT, FLAKY (the case may pass or fail) or
// ERROR (the case is known not to be judged: a transport failure, a
// timeout or a malformed reply the vendor knows of). A listed case that
// ends with its expected verdict does not fail the run, and a listed ERROR
// does not make it incomplete; a listed case that passes instead is an
// unexpected pass, and any other verdict an unexpected result: both fail
// the run, so that CI notices when a verifier's results change. A case
// listed with another verdict that ends in ERROR is not judged, and the
// run is incomplete.
package expect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report"
)

// Flaky is the expected verdict of a case that may pass or fail.
const Flaky = "FLAKY"

// ErrFormat reports an expect file that cannot be read.
var ErrFormat = errors.New("invalid expect file")

// Entry is one line of the file.
type Entry struct {
	// ID is the case.
	ID string
	// Verdict is FAIL, NON-STRICT, FLAKY or ERROR.
	Verdict string
	// Line is the line number, for messages.
	Line int
}

// List is a parsed expect file.
type List struct {
	entries map[string]Entry
}

// maxLine bounds one line of the file.
const maxLine = 64 << 10

// Parse reads an expect file. known reports whether a case ID exists; a
// line naming an unknown case is an error, so that a typo cannot hide a
// failure. name names the file in errors.
func Parse(r io.Reader, name string, known func(id string) bool) (*List, error) {
	l := &List{entries: make(map[string]Entry)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	n := 0
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w %s line %d: %s", ErrFormat, name, n, fmt.Sprintf(format, a...))
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		e := Entry{ID: f[0], Verdict: string(harness.Fail), Line: n}
		switch len(f) {
		case 1:
		case 2:
			e.Verdict = strings.ToUpper(f[1])
			switch e.Verdict {
			case string(harness.Fail), string(harness.NonStrict), Flaky, string(harness.Error):
			default:
				return nil, bad("verdict %q (want FAIL, NON-STRICT, FLAKY or ERROR)", f[1])
			}
		default:
			return nil, bad("%d fields (want a case ID and an optional verdict)", len(f))
		}
		if !known(e.ID) {
			return nil, bad("no case has the ID %q", e.ID)
		}
		if prev, dup := l.entries[e.ID]; dup {
			return nil, bad("%s is listed again (first on line %d)", e.ID, prev.Line)
		}
		l.entries[e.ID] = e
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w %s line %d: %w", ErrFormat, name, n+1, err)
	}
	return l, nil
}

// Len returns the number of cases listed.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// Kind classifies a listed case's result (report.ExpectKind).
type Kind = report.ExpectKind

// The kinds of outcome for a listed case.
const (
	// Known: the case ended as listed; it does not fail the run.
	Known = report.Known
	// UnexpectedPass: a listed case passed; it fails the run.
	UnexpectedPass = report.UnexpectedPass
	// Unexpected: a listed case ended with another verdict; it fails
	// the run.
	Unexpected = report.Unexpected
	// NotJudged: a listed case ended in ERROR; the file cannot excuse it.
	NotJudged = report.NotJudged
)

// Outcome is the judgement of one listed case (report.Expectation).
type Outcome = report.Expectation

// Judge returns the outcome of a result, and false when the case is not
// listed. A case listed as ERROR that ended in ERROR is Known; a case
// listed with another verdict that ended in ERROR is NotJudged: the report
// says it was expected, and the run is still incomplete.
func (l *List) Judge(r harness.Result) (Outcome, bool) {
	if l == nil {
		return Outcome{}, false
	}
	e, ok := l.entries[r.ID]
	if !ok {
		return Outcome{}, false
	}
	o := Outcome{ID: r.ID, Expected: e.Verdict, Got: r.Verdict, Line: e.Line}
	switch {
	case r.Verdict == harness.Error && e.Verdict == string(harness.Error):
		o.Kind = Known
	case r.Verdict == harness.Error:
		o.Kind = NotJudged
	case e.Verdict == Flaky && r.Verdict != harness.Skip:
		o.Kind = Known
	case string(r.Verdict) == e.Verdict:
		o.Kind = Known
	case r.Verdict == harness.Pass:
		o.Kind = UnexpectedPass
	default:
		o.Kind = Unexpected
	}
	return o, true
}

// JudgeAll judges every listed result of a report, by case ID.
func (l *List) JudgeAll(results []harness.Result) map[string]Outcome {
	out := map[string]Outcome{}
	for _, r := range results {
		if o, ok := l.Judge(r); ok {
			out[r.ID] = o
		}
	}
	return out
}

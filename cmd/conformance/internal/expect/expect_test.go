package expect

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
)

func known(id string) bool { return strings.HasPrefix(id, "rfc") }

func TestParse(t *testing.T) {
	l, err := Parse(strings.NewReader(`# liboath at window 5
rfc/a          FAIL      # truncates
rfc/b non-strict

   rfc/c
rfc/d FLAKY
`), "known.txt", known)
	require.NoError(t, err)
	assert.Equal(t, 4, l.Len())
	assert.Equal(t, Entry{ID: "rfc/b", Verdict: "NON-STRICT", Line: 3}, l.entries["rfc/b"])
	assert.Equal(t, "FAIL", l.entries["rfc/c"].Verdict)
	var none *List
	assert.Equal(t, 0, none.Len())
	_, listed := none.Judge(harness.Result{ID: "rfc/a", Verdict: harness.Fail})
	assert.False(t, listed)
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rfc/a PASS", `invalid expect file x line 1: verdict "PASS" (want FAIL, NON-STRICT, FLAKY or ERROR)`},
		{"rfc/a FAIL extra", "line 1: 3 fields"},
		{"\n\nother/a", `line 3: no case has the ID "other/a"`},
		{"rfc/a\nrfc/a FAIL", "line 2: rfc/a is listed again (first on line 1)"},
		{strings.Repeat("x", 70000), "line 1: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		_, err := Parse(strings.NewReader(tt.in), "x", known)
		require.ErrorIs(t, err, ErrFormat, tt.in)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestJudge(t *testing.T) {
	l, err := Parse(strings.NewReader("rfc/fail\nrfc/ns NON-STRICT\nrfc/flaky FLAKY\nrfc/err ERROR\n"), "x", known)
	require.NoError(t, err)
	tests := []struct {
		id      string
		got     harness.Verdict
		kind    Kind
		listed  bool
		failing bool
	}{
		{"rfc/fail", harness.Fail, Known, true, false},
		{"rfc/fail", harness.Pass, UnexpectedPass, true, true},
		{"rfc/fail", harness.NonStrict, Unexpected, true, true},
		{"rfc/fail", harness.Skip, Unexpected, true, true},
		{"rfc/fail", harness.Error, NotJudged, true, true},
		{"rfc/ns", harness.NonStrict, Known, true, false},
		{"rfc/ns", harness.Fail, Unexpected, true, true},
		{"rfc/flaky", harness.Pass, Known, true, false},
		{"rfc/flaky", harness.Fail, Known, true, false},
		{"rfc/flaky", harness.Skip, Unexpected, true, true},
		{"rfc/flaky", harness.Error, NotJudged, true, true},
		{"rfc/err", harness.Error, Known, true, false},
		{"rfc/err", harness.Pass, UnexpectedPass, true, true},
		{"rfc/err", harness.Fail, Unexpected, true, true},
		{"rfc/other", harness.Fail, "", false, false},
	}
	for _, tt := range tests {
		o, listed := l.Judge(harness.Result{ID: tt.id, Verdict: tt.got})
		assert.Equal(t, tt.listed, listed, "%s %s", tt.id, tt.got)
		if listed {
			assert.Equal(t, tt.kind, o.Kind, "%s %s", tt.id, tt.got)
			assert.Equal(t, tt.failing, o.Fails(), "%s %s", tt.id, tt.got)
			assert.Contains(t, o.String(), "(line ")
		}
	}
}

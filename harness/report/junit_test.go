package report_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness/report"
)

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitDoc struct {
	Suites []struct {
		Name       string `xml:"name,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string        `xml:"name,attr"`
			Failure *junitProblem `xml:"failure"`
			Error   *junitProblem `xml:"error"`
			Skipped *junitProblem `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func junitOf(t *testing.T, s *report.Summary) junitDoc {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, s.WriteJUnit(&b))
	var d junitDoc
	require.NoError(t, xml.Unmarshal(b.Bytes(), &d))
	return d
}

// TestJUnit: causes inside failure messages, known failures marked as
// known, a listed ERROR said, suites in catalogue order.
func TestJUnit(t *testing.T) {
	d := junitOf(t, report.Summarize(fakeReport(), fakeOptions()))
	var suites []string
	cases := map[string]struct{ failure, err, skipped *junitProblem }{}
	for _, s := range d.Suites {
		suites = append(suites, s.Name)
		for _, c := range s.Cases {
			cases[c.Name] = struct{ failure, err, skipped *junitProblem }{c.Failure, c.Error, c.Skipped}
		}
	}
	var want []string
	for _, sec := range report.Sections(fakeReport().Results) {
		want = append(want, sec.Name)
	}
	assert.Equal(t, want, suites)

	// The causes come first, as properties of the first suite.
	props := map[string]string{}
	for _, p := range d.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	assert.Contains(t, props["cause.1"], "a delay after failures, not claimed")
	assert.Contains(t, props["cause.1"], `claim it in the profile: "throttle"`)
	assert.Contains(t, props["cause.2"], "rfc4226/5.1/counter-2^53 rfc4226/5.1/counter-2^64")

	f := cases["rfc4226/5.1/counter-2^53"].failure
	require.NotNil(t, f)
	assert.Equal(t, "rejected, expected accepted: it is the next expected code (cause: counters kept as IEEE doubles: exact only up to 2^53)", f.Message)
	assert.Contains(t, f.Text, "cause: counters kept as IEEE doubles")
	assert.Contains(t, f.Text, "replay: conformance run")

	f = cases["otplab/model/hotp-sequences"].failure
	require.NotNil(t, f)
	assert.Contains(t, f.Message, "(cause: a delay after failures, not claimed)")
	assert.Contains(t, f.Text, `claim it in the profile: "throttle": {"after": 1, "delay": 1, "factor": 2}`)
	assert.Contains(t, f.Text, "script:\n  1. enroll a C100 at counter 0\n")

	k := cases["rfc4226/5.1/counter-2^64"]
	assert.Nil(t, k.failure)
	require.NotNil(t, k.skipped)
	assert.Equal(t, "known-failure", k.skipped.Type)
	assert.True(t, strings.HasPrefix(k.skipped.Message, "known failure: FAIL, as the expect file says (line 1)"), k.skipped.Message)
	assert.Contains(t, k.skipped.Text, "=> enroll refused")

	e := cases["rfc4226/7.2/concurrent-same-code"].err
	require.NotNil(t, e)
	assert.Contains(t, e.Message, "lists it as FLAKY, but it ended in ERROR")

	up := cases["rfc4226/7.4/look-ahead-edge"].failure
	require.NotNil(t, up)
	assert.Equal(t, "unexpected-pass", up.Type)

	// A plain skip stays a plain skip.
	sk := cases["rfc6238/5.2/skew-back-edge"].skipped
	require.NotNil(t, sk)
	assert.Empty(t, sk.Type)
}

// TestWriteDir writes the three files, leaves no temporary file, and
// names the file it could not write.
func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, report.WriteDir(dir, fakeReport(), fakeOptions()))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), e.Name())
	}
	assert.Equal(t, []string{"junit.xml", "report.html", "report.json"}, names)

	err = report.WriteDir(filepath.Join(dir, "missing"), fakeReport(), fakeOptions())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "junit.xml")
}

package junit

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	var b strings.Builder
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := Write(&b, "otplab & co", []Suite{
		{Name: "rfc4226/7.4", Timestamp: at, Properties: []Property{{Name: "seed", Value: "42"}}, Cases: []Case{
			{Name: "rfc4226/7.4/a", Classname: "rfc4226/7.4", Time: Duration(1500 * time.Millisecond)},
			{Name: "rfc4226/7.4/b", Classname: "rfc4226/7.4", Time: Duration(time.Millisecond),
				Failure: &Problem{Message: `accepted "0042"`, Type: "FAIL", Text: "1. x <y>\n2. \x00z"}},
		}},
		{Name: "rfc6238/5.2", Cases: []Case{
			{Name: "e", Classname: "rfc6238/5.2", Error: &Problem{Message: "no reply", Type: "ERROR"}},
			{Name: "s", Classname: "rfc6238/5.2", Skipped: &Problem{Message: "not claimed"}},
			{Name: "n", Classname: "rfc6238/5.2", SystemOut: "NON-STRICT"},
		}},
	})
	require.NoError(t, err)
	want := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="otplab &amp; co" tests="5" failures="1" errors="1" skipped="1" time="1.501">
  <testsuite name="rfc4226/7.4" tests="2" failures="1" errors="0" skipped="0" time="1.501" timestamp="2026-01-02T03:04:05">
    <properties>
      <property name="seed" value="42"></property>
    </properties>
    <testcase name="rfc4226/7.4/a" classname="rfc4226/7.4" time="1.500"></testcase>
    <testcase name="rfc4226/7.4/b" classname="rfc4226/7.4" time="0.001">
      <failure message="accepted &#34;0042&#34;" type="FAIL">1. x &lt;y&gt;&#xA;2. ` + "\uFFFD" + `z</failure>
    </testcase>
  </testsuite>
  <testsuite name="rfc6238/5.2" tests="3" failures="0" errors="1" skipped="1" time="0.000">
    <testcase name="e" classname="rfc6238/5.2" time="0.000">
      <error message="no reply" type="ERROR"></error>
    </testcase>
    <testcase name="s" classname="rfc6238/5.2" time="0.000">
      <skipped message="not claimed"></skipped>
    </testcase>
    <testcase name="n" classname="rfc6238/5.2" time="0.000">
      <system-out>NON-STRICT</system-out>
    </testcase>
  </testsuite>
</testsuites>
`
	assert.Equal(t, want, b.String())
}

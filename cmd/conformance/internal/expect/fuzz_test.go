package expect

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzParse: any expect file is a list or an error that wraps ErrFormat,
// fits on one line and names the file; a list holds one entry per line
// that is not blank or a comment, each with a verdict it knows.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"# known\nrfc4226/5.3/digits-8 FAIL # truncates\n\nrfc4226/7.2/x flaky\n",
		"a NON-STRICT\r\nb\n", "a error # a known timeout\n",
		"a PASS\n", "a b c\n", "a\na\n", "\xff\xfe", strings.Repeat("x", maxLine+1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		known := func(id string) bool { return !strings.Contains(id, "unknown") }
		l, err := Parse(bytes.NewReader(data), "known.txt", known)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") || !strings.Contains(err.Error(), "known.txt") {
				t.Fatalf("error %q spans lines or does not name the file", err)
			}
			return
		}
		entries := 0
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			if len(strings.Fields(line)) > 0 {
				entries++
			}
		}
		if l.Len() != entries {
			t.Fatalf("%d entries from %d lines", l.Len(), entries)
		}
		for _, e := range l.entries {
			if e.Verdict != "FAIL" && e.Verdict != "NON-STRICT" && e.Verdict != Flaky && e.Verdict != "ERROR" {
				t.Fatalf("entry %+v: verdict unknown", e)
			}
		}
	})
}

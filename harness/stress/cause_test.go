package stress

import (
	"strings"
	"testing"
)

// Merged shards keep one line per cause: the same key and alternatives add
// up their tokens and the passing histories they were checked against;
// other alternatives stay apart.
func TestMergeCauses(t *testing.T) {
	a := []CauseGroup{{Key: "race", Summary: "r", Tokens: 2, Serials: []string{"3", "1"}, Passing: 40}}
	b := []CauseGroup{
		{Key: "race", Summary: "r", Tokens: 1, Serials: []string{"2"}, Passing: 45},
		{Key: "race", Alternatives: []string{"per-node-counter"}, Summary: "could not tell which", Tokens: 1, Serials: []string{"4"}, Passing: 45},
	}
	got := mergeCauses(mergeCauses(nil, a), b)
	if len(got) != 2 || got[0].Tokens != 3 || got[0].Passing != 85 || strings.Join(got[0].Serials, ",") != "1,2,3" ||
		got[1].Tokens != 1 || len(got[1].Alternatives) != 1 {
		t.Fatalf("merged %+v", got)
	}
	if a[0].Tokens != 2 || len(a[0].Serials) != 2 {
		t.Fatalf("merging changed its input: %+v", a)
	}
}

// The text report groups violations by cause, one line each with the
// numbers of the proof and an example, and says why the others have none.
func TestWriteCauses(t *testing.T) {
	rep := &Report{
		Causes: []CauseGroup{{Key: "race", Summary: "concurrent requests ...", Tokens: 2, Serials: []string{"7001", "7002"}, Passing: 48}},
		Violations: []TokenViolation{
			{Serial: "7003", Summary: "s3", Unexplained: "not explained: only the first 2 violating tokens are explained"},
			{Serial: "7002", Summary: "s2", Cause: "concurrent requests ...", CauseKey: "race"},
			{Serial: "7001", Summary: "s1", Cause: "concurrent requests ...", CauseKey: "race"},
		},
	}
	rep.sortViolations()
	if rep.Violations[0].Serial != "7001" || rep.Violations[2].Serial != "7003" {
		t.Fatalf("order %+v", rep.Violations)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Causes:\n  1. cause (fits every reply of 2 tokens' histories, refuted by none of 48 that passed): concurrent requests ...\n     2 token(s), e.g. 7001\n",
		"  no cause named for 1 token(s), e.g. 7003: not explained: only the first 2 violating tokens are explained\n",
		"VIOLATION token 7001: s1\n  cause: concurrent requests ...\n",
		"VIOLATION token 7003: s3\n  not explained: only the first 2",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the text report lacks %q:\n%s", want, b.String())
		}
	}
}

package harness

import (
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
)

//go:generate go run ./internal/gencases -o ../docs/cases.md

// WriteCatalogue writes the case catalogue as a Markdown document, grouped
// by spec section: the source of docs/cases.md.
func WriteCatalogue(w io.Writer) error {
	cases := Cases()
	files := caseFiles()
	// Sections in catalogue order, as reports show them.
	first := map[string]int{}
	for i, c := range cases {
		if _, ok := first[c.Section]; !ok {
			first[c.Section] = i
		}
	}
	slices.SortStableFunc(cases, func(a, b CaseInfo) int { return first[a.Section] - first[b.Section] })
	var b strings.Builder
	b.WriteString("# Conformance cases\n\n")
	b.WriteString("Generated from the catalogue in `harness/` by `go generate ./harness`; a test fails when this file is stale.\n\n")
	b.WriteString(levelPolicy)
	fmt.Fprintf(&b, "\n%d cases.\n", len(cases))
	section := ""
	for _, c := range cases {
		if c.Section != section {
			section = c.Section
			fmt.Fprintf(&b, "\n## %s\n\n| ID | level | why this level | requirement | what it does | file |\n|---|---|---|---|---|---|\n", section)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | `%s` |\n", c.ID, c.Level, mdCell(c.LevelWhy), mdCell(c.Requirement), mdCell(c.What), files[c.ID])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// levelPolicy says how levels are chosen (DESIGN.md's rule 5).
const levelPolicy = `Levels match the risk. **MUST** is an RFC requirement whose break opens an attack: a replay or a double acceptance, a prefix, an extension, a changed digit or an empty string taken for the code, a lock that does not hold, a counter that wraps or loses precision inside the claimed range. Breaking it is a FAIL. **PROFILE** is a value the verifier claims (a window, a resync rule, a throttle, a drift bound): breaking the claim is a FAIL, and a case whose claim is absent SKIPs with that reason. **SHOULD** is robustness and hygiene: white space, a '+' or '-', leading zeros and other decimal digits in a typed code, counters past the claimed range; missing it is NON-STRICT, and it becomes PROFILE when the profile claims the exact rule (` + "`input: \"exact\"`" + `). **INFO** observes only.

A declared departure from an RFC rule is reported once, at the case that checks that rule, and every other case expects the declared behaviour: ` + "`on_failure: \"advance\"`" + ` FAILs ` + "`rfc4226/7.2/reject-keeps-counter`" + ` as declared; a ` + "`counters.max`" + ` below 2^64-1 is NON-STRICT at ` + "`rfc4226/5.1/counter-2^64`" + `; unbounded ` + "`totp.drift`" + ` is NON-STRICT at ` + "`rfc6238/6/drift-walk`" + `.

Cases enroll inside what the profile supports: counters from ` + "`counters.min`" + `, its first algorithm and digit count when SHA1 or 6 digits are not claimed, a step it can enroll. A refused enrollment of a claimed token is a FAIL of the case.
`

// caseFiles maps each case ID to the file that holds its body (or, when
// the body wraps a function given to a case shape, that function), as
// "harness/NAME.go", so that a case is found from its ID without a search.
func caseFiles() map[string]string {
	return filesOf(catalogue())
}

// filesOf maps the ID of each case of cs to the file that holds its code,
// as caseFiles does for the catalogue.
func filesOf(cs []*caseDef) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		if c.body == nil {
			continue
		}
		fn := any(c.body)
		if c.source != nil {
			fn = c.source
		}
		f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
		if f == nil {
			continue
		}
		file, _ := f.FileLine(f.Entry())
		out[c.id] = "harness/" + filepath.Base(file)
	}
	return out
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

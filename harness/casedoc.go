package harness

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

//go:generate go run ./internal/gencases -o ../docs/cases.md

// WriteCatalogue writes the case catalogue as a Markdown document, grouped
// by spec section: the source of docs/cases.md.
func WriteCatalogue(w io.Writer) error {
	cases := Cases()
	slices.SortStableFunc(cases, func(a, b CaseInfo) int { return strings.Compare(a.Section, b.Section) })
	var b strings.Builder
	b.WriteString("# Conformance cases\n\n")
	b.WriteString("Generated from the catalogue in `harness/` by `go generate ./harness`; a test fails when this file is stale. ")
	b.WriteString("Levels: MUST and PROFILE cases FAIL when broken, SHOULD cases are NON-STRICT, INFO cases only observe. ")
	b.WriteString("A PROFILE case SKIPs when the verifier does not claim what it needs.\n\n")
	fmt.Fprintf(&b, "%d cases.\n", len(cases))
	section := ""
	for _, c := range cases {
		if c.Section != section {
			section = c.Section
			fmt.Fprintf(&b, "\n## %s\n\n| ID | level | requirement | what it does |\n|---|---|---|---|\n", section)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.ID, c.Level, mdCell(c.Requirement), mdCell(c.What))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

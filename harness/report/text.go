package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
)

// WriteText writes the summary for a person: the verifier, profile and
// seed; the causes that explain the failures; the results grouped by spec
// section in catalogue order, each failure with its requirement, story,
// explanation and replay command (with Options.Brief, only the cases that
// need a look, and one line of counts per section); the skipped cases
// summed up by reason, one line each; and the closing line "N passed, N
// failed, ...". The cases that fail the run are listed once, by
// Headline, not here.
func (s *Summary) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	rep := s.Report
	if rep == nil {
		why := "the verifier did not answer"
		if s.Options.StartError != nil {
			why = s.Options.StartError.Error()
		}
		fmt.Fprintf(bw, "\nverifier: %s\nthe run could not start: %s\n", s.verifierName(), why)
		fmt.Fprintf(bw, "\n0 passed, 0 failed, 0 non-strict, 0 skipped, 0 errors (the run could not start)\n")
		return bw.Flush()
	}
	spec := ""
	if s.Options.Spec != "" && s.Options.Spec != rep.Verifier {
		spec = " (--verifier " + ShellQuote(s.Options.Spec) + ")"
	}
	fmt.Fprintf(bw, "\nverifier: %s%s\n", rep.Verifier, spec)
	source := "from the verifier's hello"
	if s.Options.ProfileFile != "" {
		source = "from " + s.Options.ProfileFile
	}
	prof, _ := json.Marshal(rep.Profile)
	fmt.Fprintf(bw, "profile:  %s %s\n", source, prof)
	fmt.Fprintf(bw, "seed:     %d (--seed %d replays the run)\n", rep.Seed, rep.Seed)
	if c := rep.ClockCheck; c != nil {
		fmt.Fprintf(bw, "clock:    %s: %s\n", c.Verdict, c.Note)
	}

	if len(rep.Causes) > 0 {
		fmt.Fprintf(bw, "\nCauses: what explains the failures\n")
		for i, c := range rep.Causes {
			fmt.Fprintf(bw, "  %d. %s (%s)\n", i+1, c.Summary, plural(len(c.Cases), "case", "cases"))
			if c.Claim != "" {
				fmt.Fprintf(bw, "     claim it in the profile: %s\n", c.Claim)
			}
			fmt.Fprintf(bw, "%s\n", wrapList(c.Cases, 5, 88))
		}
	}

	if s.Options.Brief && len(rep.Results) > 0 {
		fmt.Fprintln(bw)
	}
	for _, sec := range s.sections() {
		if !s.Options.Brief {
			fmt.Fprintf(bw, "\n%s\n", sec.Name)
		} else {
			fmt.Fprintf(bw, "%-14s %s\n", sec.Name, sectionCounts(sec.Results))
		}
		for _, r := range sec.Results {
			if s.Options.Brief && !s.needsLook(r) {
				continue
			}
			s.writeTextResult(bw, r)
		}
	}
	s.writeSkips(bw)
	fmt.Fprintln(bw)
	if rep.Interrupted {
		fmt.Fprintf(bw, "interrupted: %d of %s ran\n", len(rep.Results), plural(s.selected(), "case", "cases"))
	}
	line := rep.Counts().String()
	if k := s.counts().Known; k > 0 {
		from := "the expect file"
		if s.Options.ExpectFile != "" {
			from = s.Options.ExpectFile
		}
		line += fmt.Sprintf(" (%d as expected by %s)", k, from)
	}
	fmt.Fprintln(bw, line)
	return bw.Flush()
}

func (s *Summary) writeTextResult(w io.Writer, r harness.Result) {
	const pad = 14
	fmt.Fprintf(w, "  %-11s %s (%s)\n", s.label(r), r.ID, Round(r.Duration))
	e, listed := s.Options.Expect[r.ID]
	if listed {
		fmt.Fprintf(w, "%s\n", Indent(e.String(), pad))
	}
	if r.Verdict == harness.Skip {
		return // its reason is in the summary of the skips
	}
	if r.Verdict == harness.Pass {
		return
	}
	fmt.Fprintf(w, "%s\n", Indent("requirement ["+string(r.Level)+"]: "+r.Requirement, pad))
	for _, m := range r.Messages {
		fmt.Fprintf(w, "%s\n", Indent(m, pad))
	}
	if len(r.Script) > 0 {
		fmt.Fprintf(w, "%s\n", Indent("script:\n"+Indent(strings.Join(r.Script, "\n"), 2), pad))
	}
	if c, ok := s.causeOf(r); ok {
		fmt.Fprintf(w, "%s\n", Indent("cause: "+c.Summary, pad))
	}
	if x := r.Explanation; x != nil && len(x.ConsistentWith) > 0 {
		fmt.Fprintf(w, "%s\n", Indent("consistent with: "+strings.Join(x.ConsistentWith, "; "), pad))
	}
	if cmd := s.replay[r.ID]; cmd != "" {
		fmt.Fprintf(w, "%s\n", Indent("replay: "+cmd, pad))
	}
}

// needsLook reports whether a brief summary lists the result: anything
// but a plain PASS or SKIP, and whatever the expect file lists.
func (s *Summary) needsLook(r harness.Result) bool {
	if _, listed := s.Options.Expect[r.ID]; listed {
		return true
	}
	return r.Verdict != harness.Pass && r.Verdict != harness.Skip
}

// sectionCounts says a section's results in a few words, such as
// "12 passed, 1 failed, 3 skipped".
func sectionCounts(results []harness.Result) string {
	n := map[harness.Verdict]int{}
	for _, r := range results {
		n[r.Verdict]++
	}
	var parts []string
	for _, v := range []struct {
		verdict harness.Verdict
		word    string
	}{{harness.Pass, "passed"}, {harness.Fail, "failed"}, {harness.NonStrict, "non-strict"}, {harness.Error, "errors"}, {harness.Skip, "skipped"}} {
		if n[v.verdict] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[v.verdict], v.word))
		}
	}
	return strings.Join(parts, ", ")
}

// SkipReason is one reason cases were skipped for, with the cases.
type SkipReason struct {
	// Reason is the skip message the cases share (its first line).
	Reason string
	// Hint says what would run them, when the reason does not already.
	Hint string
	// Cases are the skipped cases' IDs, in catalogue order.
	Cases []string
}

// notClaimed matches the skip reason of a case that judges a profile field
// the profile leaves out.
var notClaimed = regexp.MustCompile(`^the profile does not claim ([a-z_.]+)$`)

// Skips groups a run's skipped cases by reason, most common first; the
// expect file's listed cases are left out (their line says why).
func (s *Summary) Skips() []SkipReason {
	var out []SkipReason
	at := map[string]int{}
	for _, sec := range s.sections() {
		for _, r := range sec.Results {
			if r.Verdict != harness.Skip {
				continue
			}
			if _, listed := s.Options.Expect[r.ID]; listed {
				continue
			}
			reason := "no reason given"
			if len(r.Messages) > 0 {
				reason, _, _ = strings.Cut(r.Messages[0], "\n")
			}
			i, ok := at[reason]
			if !ok {
				i = len(out)
				at[reason] = i
				sr := SkipReason{Reason: reason}
				if m := notClaimed.FindStringSubmatch(reason); m != nil {
					sr.Hint = "claim it (in hello, or with --profile FILE) to run them"
				}
				out = append(out, sr)
			}
			out[i].Cases = append(out[i].Cases, r.ID)
		}
	}
	slices.SortStableFunc(out, func(a, b SkipReason) int { return len(b.Cases) - len(a.Cases) })
	return out
}

// writeSkips sums up the skipped cases by reason, one line each; the full
// listing names the cases, the brief one counts them.
func (s *Summary) writeSkips(w io.Writer) {
	skips := s.Skips()
	if len(skips) == 0 {
		return
	}
	total := 0
	for _, sr := range skips {
		total += len(sr.Cases)
	}
	fmt.Fprintf(w, "\nSkipped: %s, by reason\n", plural(total, "case", "cases"))
	for _, sr := range skips {
		line := fmt.Sprintf("%3d  %s", len(sr.Cases), sr.Reason)
		if sr.Hint != "" {
			line += ": " + sr.Hint
		}
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// wrapList writes ids separated by spaces on lines of at most width
// characters, each indented by n spaces.
func wrapList(ids []string, n, width int) string {
	var lines []string
	cur := ""
	for _, id := range ids {
		if cur != "" && n+len(cur)+1+len(id) > width {
			lines = append(lines, cur)
			cur = ""
		}
		if cur != "" {
			cur += " "
		}
		cur += id
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return Indent(strings.Join(lines, "\n"), n)
}

// Indent indents every non-blank line of s by n spaces, dropping blank
// lines at either end.
func Indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// Round rounds a case's duration for display.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// ShellQuote quotes s for a POSIX shell when it needs quoting.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

package stress

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Report is the outcome of a stress run.
type Report struct {
	// Schema is the version of the JSON form (1).
	Schema int `json:"schema"`
	// Seed replays the users' choices.
	Seed uint64 `json:"seed"`
	// Nodes names the endpoints, node 1 first.
	Nodes []string `json:"nodes"`
	// Users is the number of users (tokens) of this run or shard.
	Users int `json:"users"`
	// Shard is "i/N" when the run was one of N shards.
	Shard string `json:"shard,omitempty"`
	// Elapsed is how long requests were sent.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Requests counts the requests sent (enrolments not counted).
	Requests int `json:"requests"`
	// Unknown counts the requests without a reply (timed out or failed).
	Unknown int `json:"unknown"`
	// Errors samples the distinct errors of requests without reply.
	Errors []string `json:"errors,omitempty"`
	// Throughput is Requests per second of Elapsed.
	Throughput float64 `json:"throughput"`
	// Latency gives percentiles per op and node ("check@2"), and per op
	// over all nodes ("check").
	Latency map[string]Latency `json:"latency"`
	// Checked counts the tokens whose history was checked.
	Checked int `json:"checked"`
	// Violations lists the tokens whose history no correct verifier could
	// have produced.
	Violations []TokenViolation `json:"violations"`
	// Causes lists what explains the violations, each cause proven by the
	// explanation engine (it fits every reply of each token it groups, and
	// no sampled history of a token that passed refutes it), the largest
	// group first. A violation under no cause says why (its Unexplained).
	Causes []CauseGroup `json:"causes"`
	// ExplainDuration is how long explaining the violations took.
	ExplainDuration time.Duration `json:"explain_duration_ns"`
	// Unchecked lists the tokens whose check did not finish in time.
	Unchecked []string `json:"unchecked"`
	// NotEnrolled lists the tokens whose enrolment failed.
	NotEnrolled []string `json:"not_enrolled"`
	// CheckTime is the longest check of one token.
	CheckTime time.Duration `json:"check_time_ns"`
	// CheckDuration is how long checking every token took (several at a
	// time, one per CPU).
	CheckDuration time.Duration `json:"check_duration_ns"`
	// Interrupted reports a run cut short (Ctrl-C).
	Interrupted bool `json:"interrupted"`

	visuals map[string]func(io.Writer) error
}

// Latency is a latency distribution of the requests that got a reply.
type Latency struct {
	// N is the number of requests.
	N int `json:"n"`
	// P50 is the median.
	P50 time.Duration `json:"p50_ns"`
	// P99 is the 99th percentile.
	P99 time.Duration `json:"p99_ns"`
	// Max is the slowest.
	Max time.Duration `json:"max_ns"`
}

func newReport(o Options, users []*user, elapsed time.Duration) *Report {
	rep := &Report{Schema: 1, Seed: o.Seed, Users: len(users), Elapsed: elapsed,
		Latency: map[string]Latency{}, visuals: map[string]func(io.Writer) error{}}
	if o.Shards > 0 {
		rep.Shard = fmt.Sprintf("%d/%d", o.Shard, o.Shards)
	}
	for _, n := range o.Nodes {
		rep.Nodes = append(rep.Nodes, n.Name)
	}
	lat := map[string][]time.Duration{}
	for _, u := range users {
		for _, o := range u.ops {
			rep.Requests++
			if o.unknown {
				rep.Unknown++
				if len(rep.Errors) < maxErrors && !slices.Contains(rep.Errors, o.err) {
					rep.Errors = append(rep.Errors, o.err)
				}
				continue
			}
			k := fmt.Sprintf("%s@%d", o.req.Op, o.node+1)
			lat[k] = append(lat[k], o.took)
			lat[o.req.Op] = append(lat[o.req.Op], o.took)
		}
	}
	for k, ds := range lat {
		slices.Sort(ds)
		rep.Latency[k] = Latency{N: len(ds), P50: ds[len(ds)*50/100], P99: ds[min(len(ds)-1, len(ds)*99/100)], Max: ds[len(ds)-1]}
	}
	if elapsed > 0 {
		rep.Throughput = float64(rep.Requests) / elapsed.Seconds()
	}
	return rep
}

// timeline draws the violation's window with porcupine, from the states
// before it: short enough to read, and illegal on its own. When the window
// was not found, the whole history is drawn.
func (c *checked) timeline(limit time.Duration) func(io.Writer) error {
	v := c.viol
	if len(v.win) == 0 {
		model, ops := c.model.porcupine(), c.ops
		return func(w io.Writer) error {
			_, info := porcupine.CheckOperationsVerbose(model, ops, limit)
			return porcupine.Visualize(model, info, w)
		}
	}
	model := c.model.porcupineFrom(v.start)
	win := slices.Clone(v.win)
	return func(w io.Writer) error {
		_, info := porcupine.CheckOperationsVerbose(model, operations(win), limit)
		return porcupine.Visualize(model, info, w)
	}
}

func (rep *Report) add(results []*checked, checkTimeout time.Duration) {
	for _, c := range results {
		rep.CheckTime = max(rep.CheckTime, c.took)
		switch c.verdict {
		case linearizable:
			rep.Checked++
		case violation:
			rep.Checked++
			rep.Violations = append(rep.Violations, *c.viol)
			rep.visuals[c.u.tok.Serial] = c.timeline(checkTimeout)
		default:
			rep.Unchecked = append(rep.Unchecked, c.u.tok.Serial)
		}
	}
	rep.sortViolations()
}

// sortViolations puts the violations in the order of their causes (the
// largest group first), those without a cause last, each group by serial.
func (rep *Report) sortViolations() {
	rank := map[string]int{}
	for i, c := range rep.Causes {
		rank[c.Key+"\x00"+strings.Join(c.Alternatives, ",")] = i
	}
	of := func(v TokenViolation) int {
		if v.CauseKey == "" {
			return len(rep.Causes)
		}
		if i, ok := rank[v.CauseKey+"\x00"+strings.Join(v.Alternatives, ",")]; ok {
			return i
		}
		return len(rep.Causes)
	}
	slices.SortStableFunc(rep.Violations, func(a, b TokenViolation) int {
		if c := of(a) - of(b); c != 0 {
			return c
		}
		return strings.Compare(a.Serial, b.Serial)
	})
}

// Failed reports whether a violation was found.
func (rep *Report) Failed() bool { return len(rep.Violations) > 0 }

// Complete reports whether every token was enrolled and checked and the
// run was not cut short.
func (rep *Report) Complete() bool {
	return !rep.Interrupted && len(rep.Unchecked) == 0 && len(rep.NotEnrolled) == 0 && rep.MissingShards() == 0
}

// Headline sums the run up in one line.
func (rep *Report) Headline() string {
	s := fmt.Sprintf("%d violation(s) in %d token(s) checked; %d requests in %.1f s (%.0f/s), %d without reply",
		len(rep.Violations), rep.Checked, rep.Requests, rep.Elapsed.Seconds(), rep.Throughput, rep.Unknown)
	if len(rep.Unchecked) > 0 {
		s += fmt.Sprintf("; %d token(s) not checked in time", len(rep.Unchecked))
	}
	if len(rep.NotEnrolled) > 0 {
		s += fmt.Sprintf("; %d token(s) not enrolled", len(rep.NotEnrolled))
	}
	if m := rep.MissingShards(); m > 0 {
		s += fmt.Sprintf("; %d shard(s) missing", m)
	}
	if rep.Interrupted {
		s += "; interrupted: partial report"
	}
	return s
}

// The text report details the first maxDetailed violations and lists the
// first maxListed; report.json has them all.
const (
	maxErrors   = 5
	maxDetailed = 3
	maxListed   = 20
)

// WriteText writes the report for a terminal.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "stress: seed %d, %d users, %d node(s)", rep.Seed, rep.Users, len(rep.Nodes))
	if rep.Shard != "" {
		fmt.Fprintf(&b, ", shard %s", rep.Shard)
	}
	b.WriteString("\n")
	for i, n := range rep.Nodes {
		fmt.Fprintf(&b, "  node %d: %s\n", i+1, n)
	}
	rep.writeCauses(&b)
	for i, v := range rep.Violations {
		if i == maxDetailed {
			fmt.Fprintf(&b, "\nand %d more token(s) in violation:\n", len(rep.Violations)-i)
		}
		if i >= maxDetailed {
			if i < maxListed {
				fmt.Fprintf(&b, "  token %s: %s\n", v.Serial, v.Summary)
			}
			continue
		}
		fmt.Fprintf(&b, "\nVIOLATION token %s: %s\n", v.Serial, v.Summary)
		switch {
		case v.Cause != "":
			fmt.Fprintf(&b, "  cause: %s\n", v.Cause)
		case v.Unexplained != "":
			fmt.Fprintf(&b, "  %s\n", v.Unexplained)
		}
		fmt.Fprintf(&b, "  before: %s\n", strings.Join(v.Before, " or "))
		for _, l := range v.Window {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	if len(rep.Unchecked) > 0 {
		fmt.Fprintf(&b, "\nnot checked in time (%d): %s\n", len(rep.Unchecked), strings.Join(rep.Unchecked, " "))
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(&b, "\nno reply: %s", e)
	}
	if len(rep.Errors) > 0 {
		b.WriteString("\n")
	}
	if len(rep.NotEnrolled) > 0 {
		fmt.Fprintf(&b, "\nnot enrolled (%d): %s\n", len(rep.NotEnrolled), strings.Join(rep.NotEnrolled, " "))
	}
	b.WriteString("\nlatency        n       p50       p99       max\n")
	keys := make([]string, 0, len(rep.Latency))
	for k := range rep.Latency {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		l := rep.Latency[k]
		fmt.Fprintf(&b, "%-10s %6d %9s %9s %9s\n", k, l.N, round(l.P50), round(l.P99), round(l.Max))
	}
	fmt.Fprintf(&b, "checked %d token(s) in %s, the longest in %s\n\n%s\n", rep.Checked, round(rep.CheckDuration), round(rep.CheckTime), rep.Headline())
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCauses writes the proven causes, one line each with how many
// tokens and an example, then the violations left without a cause, by
// reason.
func (rep *Report) writeCauses(b *strings.Builder) {
	if len(rep.Violations) == 0 {
		return
	}
	b.WriteString("\nCauses:\n")
	for i, c := range rep.Causes {
		fmt.Fprintf(b, "  %d. %s\n", i+1, c.Text())
		if len(c.Serials) > 0 {
			fmt.Fprintf(b, "     %d token(s), e.g. %s\n", c.Tokens, c.Serials[0])
		}
	}
	var reasons []string
	count, example := map[string]int{}, map[string]string{}
	for _, v := range rep.Violations {
		if v.CauseKey != "" {
			continue
		}
		why := v.Unexplained
		if why == "" {
			why = "no cause found"
		}
		if count[why] == 0 {
			reasons = append(reasons, why)
			example[why] = v.Serial
		}
		count[why]++
	}
	for _, why := range reasons {
		fmt.Fprintf(b, "  no cause named for %d token(s), e.g. %s: %s\n", count[why], example[why], why)
	}
	if rep.ExplainDuration > 0 {
		fmt.Fprintf(b, "  (explained in %s)\n", round(rep.ExplainDuration))
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// WriteJSON writes the report as JSON (schema 1).
func (rep *Report) WriteJSON(w io.Writer) error {
	r := *rep
	if r.Violations == nil {
		r.Violations = []TokenViolation{}
	}
	if r.Unchecked == nil {
		r.Unchecked = []string{}
	}
	if r.Causes == nil {
		r.Causes = []CauseGroup{}
	}
	if r.NotEnrolled == nil {
		r.NotEnrolled = []string{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteJUnit writes one test case per checked or unchecked token that went
// wrong, and one for the whole run.
func (rep *Report) WriteJUnit(w io.Writer) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type skipped struct {
		Message string `xml:"message,attr"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Failure   *failure `xml:"failure,omitempty"`
		Skipped   *skipped `xml:"skipped,omitempty"`
	}
	type suite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Skipped  int        `xml:"skipped,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	s := suite{Name: "stress", Time: fmt.Sprintf("%.3f", rep.Elapsed.Seconds())}
	all := testcase{Name: "linearizable", Classname: "stress"}
	if rep.Failed() {
		all.Failure = &failure{Message: rep.Headline()}
	}
	s.Cases = append(s.Cases, all)
	for _, v := range rep.Violations {
		why := v.Cause
		if why != "" {
			why = "cause: " + why
		} else {
			why = v.Unexplained
		}
		text := v.Summary + "\n" + why + "\nbefore: " + strings.Join(v.Before, " or ") + "\n" + strings.Join(v.Window, "\n")
		s.Cases = append(s.Cases, testcase{Name: "token " + v.Serial, Classname: "stress.tokens", Failure: &failure{Message: v.Summary, Text: text}})
	}
	for _, u := range rep.Unchecked {
		s.Cases = append(s.Cases, testcase{Name: "token " + u, Classname: "stress.tokens", Skipped: &skipped{Message: "not checked within the time limit"}})
	}
	s.Tests = len(s.Cases)
	s.Failures = len(rep.Violations)
	if rep.Failed() {
		s.Failures++
	}
	s.Skipped = len(rep.Unchecked)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteDir writes report.json, junit.xml and, for each violating token,
// token-SERIAL.html (porcupine's timeline) into dir, each file whole or
// not at all.
func (rep *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	files := map[string]func(io.Writer) error{
		"report.json": rep.WriteJSON,
		"junit.xml":   rep.WriteJUnit,
	}
	for serial, vis := range rep.visuals {
		files["token-"+serial+".html"] = vis
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := writeFile(filepath.Join(dir, n), files[n]); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes through a temporary file renamed into place.
func writeFile(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

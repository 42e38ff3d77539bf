package stress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ReadReport reads a report.json written by [Report.WriteJSON]. Unknown
// fields and a schema other than 1 are errors.
func ReadReport(r io.Reader) (*Report, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("not a stress report: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a stress report: more than one JSON value")
	}
	if rep.Schema != 1 {
		return nil, fmt.Errorf("stress report schema %d: this version reads schema 1", rep.Schema)
	}
	if rep.Latency == nil {
		rep.Latency = map[string]Latency{}
	}
	rep.visuals = map[string]func(io.Writer) error{}
	return &rep, nil
}

// shardOf reads a report's "i/N".
func shardOf(s string) (int, int, bool) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	return i, n, ok && err1 == nil && err2 == nil && n > 0 && i >= 0 && i < n
}

// Merge joins the reports of the shards of one stress run (the same seed,
// nodes and number of shards, each shard once) into one. Counts add up,
// throughputs too (the shards ran at once), and lists are joined. The
// latency percentiles of the merged report are the worst shard's: an upper
// bound, since the shards' distributions are not kept.
func Merge(reps []*Report) (*Report, error) {
	if len(reps) == 0 {
		return nil, errors.New("merge: no report")
	}
	first := reps[0]
	_, n, ok := shardOf(first.Shard)
	if !ok {
		return nil, fmt.Errorf("merge: report 1 is not a shard (shard %q): run stress with --shard i/N", first.Shard)
	}
	seen := map[int]bool{}
	out := &Report{Schema: 1, Seed: first.Seed, Nodes: first.Nodes, Latency: map[string]Latency{},
		visuals: map[string]func(io.Writer) error{}}
	for k, r := range reps {
		i, m, ok := shardOf(r.Shard)
		switch {
		case !ok:
			return nil, fmt.Errorf("merge: report %d is not a shard (shard %q)", k+1, r.Shard)
		case m != n:
			return nil, fmt.Errorf("merge: report %d is shard %s, report 1 is one of %d", k+1, r.Shard, n)
		case seen[i]:
			return nil, fmt.Errorf("merge: shard %s given twice", r.Shard)
		case r.Seed != first.Seed:
			return nil, fmt.Errorf("merge: report %d has seed %d, report 1 seed %d", k+1, r.Seed, first.Seed)
		case !slices.Equal(r.Nodes, first.Nodes):
			return nil, fmt.Errorf("merge: report %d stressed other nodes than report 1", k+1)
		}
		seen[i] = true
		out.Users += r.Users
		out.Elapsed = max(out.Elapsed, r.Elapsed)
		out.Requests += r.Requests
		out.Unknown += r.Unknown
		out.Throughput += r.Throughput
		out.Checked += r.Checked
		out.Violations = append(out.Violations, r.Violations...)
		out.Causes = mergeCauses(out.Causes, r.Causes)
		out.ExplainDuration = max(out.ExplainDuration, r.ExplainDuration)
		out.Unchecked = append(out.Unchecked, r.Unchecked...)
		out.NotEnrolled = append(out.NotEnrolled, r.NotEnrolled...)
		out.CheckTime = max(out.CheckTime, r.CheckTime)
		out.CheckDuration = max(out.CheckDuration, r.CheckDuration)
		out.Interrupted = out.Interrupted || r.Interrupted
		for _, e := range r.Errors {
			if len(out.Errors) < maxErrors && !slices.Contains(out.Errors, e) {
				out.Errors = append(out.Errors, e)
			}
		}
		for key, l := range r.Latency {
			m := out.Latency[key]
			m.N += l.N
			m.P50, m.P99, m.Max = max(m.P50, l.P50), max(m.P99, l.P99), max(m.Max, l.Max)
			out.Latency[key] = m
		}
	}
	if len(seen) < n {
		out.Shard = fmt.Sprintf("%d of %d shards", len(seen), n)
	} else {
		out.Shard = fmt.Sprintf("%d shards", n)
	}
	slices.SortStableFunc(out.Causes, func(a, b CauseGroup) int { return b.Tokens - a.Tokens })
	out.sortViolations()
	slices.Sort(out.Unchecked)
	slices.Sort(out.NotEnrolled)
	return out, nil
}

// MissingShards reports how many shards of the run the merged report
// lacks.
func (rep *Report) MissingShards() int {
	var got, n int
	if _, err := fmt.Sscanf(rep.Shard, "%d of %d shards", &got, &n); err == nil {
		return n - got
	}
	return 0
}

// mergeCauses joins the causes of one shard to those of the others. A
// cause with the same key and the same alternatives in several shards is
// one cause: its tokens add up, and so do the passing histories it was
// checked against (each shard checked it against its own tokens). A cause
// whose alternatives differ from shard to shard stays on its own line: one
// shard's evidence told apart what another's could not, and only each
// shard's own check was made.
func mergeCauses(into, from []CauseGroup) []CauseGroup {
	for _, c := range from {
		i := slices.IndexFunc(into, func(g CauseGroup) bool {
			return g.Key == c.Key && slices.Equal(g.Alternatives, c.Alternatives)
		})
		if i < 0 {
			c.Serials = slices.Clone(c.Serials)
			into = append(into, c)
			continue
		}
		g := &into[i]
		g.Tokens += c.Tokens
		g.Passing += c.Passing
		g.Serials = append(g.Serials, c.Serials...)
		slices.Sort(g.Serials)
	}
	return into
}

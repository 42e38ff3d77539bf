package main

import (
	"bufio"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
)

func newCodesCmd(e env) *cobra.Command {
	var (
		from, format string
		count        uint64
	)
	cmd := &cobra.Command{
		Use:   "codes FILE [--from C] [--count N] [--format text|csv|json]",
		Short: "Print the stream of codes of a token without touching it",
		Long: `Print the codes of the token in FILE, one per line, without changing the
file. The output is streamed, so any --count runs in constant memory.

For a C100, --from is a counter (default: the counter of the next press).
For a time token, --from is a moment (RFC 3339 or Unix seconds; default now):
the codes are those the device shows from then on, one per time step, with the
true-time interval in which each is shown (csv and json).

Formats: text (the codes), csv (with a header row), json (one JSON object per
line: {"counter":0,"code":"755224"}, or step, code, from, until).`,
		Example: `  tokensim codes t.json --count 10
  tokensim codes t.json --from 1000 --count 5 --format csv
  tokensim codes phone.json --from 2026-11-23T09:00:00Z --count 3 --format json`,
		Args: args(1, "a state FILE"),
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "first counter (c100) or moment (time tokens)")
	f.Uint64Var(&count, "count", 10, "number of codes")
	f.StringVar(&format, "format", "text", "output format: text, csv or json")

	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		path := a[0]
		switch format {
		case "text", "csv", "json":
		default:
			return usagef("--format %q: want text, csv or json", format)
		}
		d, err := loadDevice(path)
		if err != nil {
			return err
		}
		counter, moment, err := parseFrom(d, from, e.now)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
		if d.C100 != nil {
			err = counterCodes(w, d.C100.Key(), counter, count, format)
		} else {
			if _, ok := d.C200.Step(moment); !ok {
				return fmt.Errorf("%s: the device clock at %s is before its t0", path, moment.Format(time.RFC3339))
			}
			err = timeCodes(w, d.C200, moment, count, format)
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return w.Flush()
	}
	return cmd
}

// parseFrom reads codes --from for device d: a counter for a c100
// (default: the counter of the next press), a moment for a time token
// (default: now, read once).
func parseFrom(d *state.Device, from string, now func() time.Time) (uint64, time.Time, error) {
	if d.C100 != nil {
		if from == "" {
			return d.C100.Counter(), time.Time{}, nil
		}
		c, err := strconv.ParseUint(from, 10, 64)
		if err != nil {
			return 0, time.Time{}, usagef("--from %q: a c100 counts presses: want a counter from 0 to 2^64-1", from)
		}
		return c, time.Time{}, nil
	}
	if from == "" {
		t := now().UTC()
		if err := checkMoment(t); err != nil {
			return 0, time.Time{}, usagef("--from: the clock says %w", err)
		}
		return 0, t, nil
	}
	t, err := parseTime(from)
	if err != nil {
		return 0, time.Time{}, usageError{fmt.Errorf("--from: %w", err)}
	}
	return 0, t, nil
}

// counterCodes writes the codes of counters start, start+1, ... (count of
// them, stopping at the last counter).
func counterCodes(w *bufio.Writer, k *token.Key, start, count uint64, format string) error {
	if format == "csv" {
		w.WriteString("counter,code\n")
	}
	buf := make([]byte, 0, 64)
	for i := uint64(0); i < count; i++ {
		c := start + i
		buf = buf[:0]
		switch format {
		case "text":
			buf = k.AppendHOTP(buf, c)
		case "csv":
			buf = strconv.AppendUint(buf, c, 10)
			buf = append(buf, ',')
			buf = k.AppendHOTP(buf, c)
		case "json":
			buf = append(buf, `{"counter":`...)
			buf = strconv.AppendUint(buf, c, 10)
			buf = append(buf, `,"code":"`...)
			buf = k.AppendHOTP(buf, c)
			buf = append(buf, `"}`...)
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if c == token.MaxCounter {
			break
		}
	}
	return nil
}

// timeCodes writes the codes a time token shows from start on.
func timeCodes(w *bufio.Writer, d *token.C200, start time.Time, count uint64, format string) error {
	if count == 0 {
		return nil
	}
	if format == "csv" {
		w.WriteString("step,code,from,until\n")
	}
	buf := make([]byte, 0, 128)
	var n uint64
	for c := range d.Codes(start) {
		buf = buf[:0]
		switch format {
		case "text":
			buf = append(buf, c.Code.Code...)
		case "csv":
			buf = strconv.AppendUint(buf, c.Counter, 10)
			buf = append(buf, ',')
			buf = append(buf, c.Code.Code...)
			buf = append(buf, ',')
			buf = c.From.UTC().AppendFormat(buf, time.RFC3339Nano)
			buf = append(buf, ',')
			buf = c.Until.UTC().AppendFormat(buf, time.RFC3339Nano)
		case "json":
			buf = append(buf, `{"step":`...)
			buf = strconv.AppendUint(buf, c.Counter, 10)
			buf = append(buf, `,"code":"`...)
			buf = append(buf, c.Code.Code...)
			buf = append(buf, `","from":"`...)
			buf = c.From.UTC().AppendFormat(buf, time.RFC3339Nano)
			buf = append(buf, `","until":"`...)
			buf = c.Until.UTC().AppendFormat(buf, time.RFC3339Nano)
			buf = append(buf, `"}`...)
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if n++; n == count {
			break
		}
	}
	return nil
}

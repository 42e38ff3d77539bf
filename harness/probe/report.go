package probe

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Table writes the findings as a short table for a person, followed by
// the evidence of every finding that departs from what a profile can
// say. The full evidence is in each Finding.
func (r *Result) Table(w io.Writer) error {
	bw := bufio.NewWriter(w)
	name := r.Name
	if name == "" {
		name = "verifier"
	}
	fmt.Fprintf(bw, "probe of %s: %d requests, seed %d\n\n", name, r.Requests, r.Seed)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINDING\tVALUE\tCERTAINTY\tREQUESTS\t")
	for _, f := range r.Findings {
		mark := ""
		if f.Departs || f.Weak {
			mark = " (!)"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%d\t\n", f.Name, f.Value, mark, f.Certainty, f.Requests)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	first := true
	for _, f := range r.Findings {
		if !f.Departs && f.Name != "claim" {
			continue
		}
		if f.Name == "claim" && f.Value == "matches" {
			continue
		}
		if first {
			fmt.Fprintln(bw, "\n(!) departs from the RFCs or the profile's meaning in a way the profile cannot express:")
			first = false
		}
		fmt.Fprintf(bw, "  %s: %s\n", f.Name, f.Evidence)
	}
	first = true
	for _, f := range r.Findings {
		if !f.Weak {
			continue
		}
		if first {
			fmt.Fprintln(bw, "\n(!) falls short of the RFCs (the profile states it, and the suite reports it):")
			first = false
		}
		fmt.Fprintf(bw, "  %s: %s\n", f.Name, f.Evidence)
	}
	return bw.Flush()
}

// SVG writes a chart of the monotonic searches: one row per search, one
// mark per probe in order of the probed value, green for accepted and red
// for rejected. It is a small standalone SVG document.
func (r *Result) SVG(w io.Writer) error {
	const (
		width  = 820
		left   = 210
		right  = 20
		rowH   = 78
		top    = 48
		radius = 7
	)
	var rows []Series
	for _, s := range r.Series {
		if len(s.Points) > 0 {
			rows = append(rows, s)
		}
	}
	height := top + rowH*max(len(rows), 1) + 30
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	name := r.Name
	if name == "" {
		name = "verifier"
	}
	fmt.Fprintf(bw, `<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", esc("probe of "+name+": accepted and rejected probes"))
	fmt.Fprintf(bw, `<circle cx="%d" cy="36" r="5" fill="#2e7d32"/><text x="%d" y="40">accepted</text>`+"\n", left, left+10)
	fmt.Fprintf(bw, `<path d="M%d 31 l10 10 m0 -10 l-10 10" stroke="#c62828" stroke-width="2.5"/><text x="%d" y="40">rejected</text>`+"\n", left+90, left+106)
	if len(rows) == 0 {
		fmt.Fprintf(bw, `<text x="10" y="%d">no searches were made</text>`+"\n", top+30)
	}
	for i, s := range rows {
		y := top + i*rowH
		mid := y + rowH/2 - 6
		fmt.Fprintf(bw, `<text x="10" y="%d" font-weight="bold">%s</text>`+"\n", mid-4, esc(s.Name))
		fmt.Fprintf(bw, `<text x="10" y="%d" fill="#555">%s</text>`+"\n", mid+12, esc(edgeLabel(s)))
		// One column per distinct probed value, in order.
		pts := slices.Clone(s.Points)
		slices.SortStableFunc(pts, func(a, b Point) int {
			switch {
			case a.X < b.X:
				return -1
			case a.X > b.X:
				return 1
			}
			return 0
		})
		pts = slices.CompactFunc(pts, func(a, b Point) bool { return a.X == b.X })
		span := width - left - right
		step := span / max(len(pts), 1)
		step = min(step, 60)
		if s.Curve {
			drawCurve(bw, pts, left, step, y, rowH)
			fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#555" font-size="10">%s</text>`+"\n", left, mid+38, esc(s.Unit))
			continue
		}
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#bbb"/>`+"\n", left-10, mid, left+step*len(pts), mid)
		for j, pt := range pts {
			x := left + step*j + step/2
			if pt.Accepted {
				fmt.Fprintf(bw, `<circle cx="%d" cy="%d" r="%d" fill="#2e7d32"/>`+"\n", x, mid, radius)
			} else {
				fmt.Fprintf(bw, `<path d="M%d %d l%d %d m0 %d l%d %d" stroke="#c62828" stroke-width="2.5"/>`+"\n",
					x-radius, mid-radius, 2*radius, 2*radius, -2*radius, -2*radius, 2*radius)
			}
			fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle" font-size="10">%d</text>`+"\n", x, mid+24, pt.X)
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#555" font-size="10">%s</text>`+"\n", left, mid+38, esc(s.Unit))
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// drawCurve draws a row of measured values as bars on a log scale, each
// labelled with its value: the throttle's delay after X failures, or
// "never" for a refusal that outlasted Wait.
func drawCurve(w io.Writer, pts []Point, left, step, top, rowH int) {
	base := top + rowH - 30
	maxH := rowH - 40
	var most float64
	for _, pt := range pts {
		most = math.Max(most, math.Log2(float64(pt.Y)+1))
	}
	for j, pt := range pts {
		x := left + step*j + step/4
		h := 2
		if most > 0 {
			h = max(2, int(float64(maxH)*math.Log2(float64(pt.Y)+1)/most))
		}
		label := fmt.Sprintf("%d s", pt.Y)
		colour := "#ef6c00"
		if !pt.Accepted {
			label, colour = "never", "#c62828"
		}
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", x, base-h, max(step/2, 4), h, colour)
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" font-size="10">%s</text>`+"\n", x+step/4, base-h-3, esc(label))
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" font-size="10">%d</text>`+"\n", x+step/4, base+12, pt.X)
	}
}

// edgeLabel summarises a row: the accepted range it shows, or for a
// curve the values it holds.
func edgeLabel(s Series) string {
	if s.Curve {
		var parts []string
		for _, pt := range s.Points {
			if pt.Accepted {
				parts = append(parts, fmt.Sprintf("%d: %d s", pt.X, pt.Y))
			} else {
				parts = append(parts, fmt.Sprintf("%d: never", pt.X))
			}
		}
		return strings.Join(parts, ", ")
	}
	var lo, hi int64
	seen := false
	for _, pt := range s.Points {
		if !pt.Accepted {
			continue
		}
		if !seen || pt.X < lo {
			lo = pt.X
		}
		if !seen || pt.X > hi {
			hi = pt.X
		}
		seen = true
	}
	if !seen {
		return "nothing accepted"
	}
	if lo == hi {
		return fmt.Sprintf("accepted at %d", lo)
	}
	return fmt.Sprintf("accepted %d .. %d", lo, hi)
}

func esc(s string) string { return html.EscapeString(s) }

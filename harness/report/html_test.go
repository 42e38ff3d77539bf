package report_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness/report"
)

// page is report.html read back: its elements in order, with their
// attributes and text.
type page struct {
	elements []element
	text     string // all character data, space-joined
	scripts  []string
	styles   []string
}

type element struct {
	name  string
	attrs map[string]string
	text  string // the character data directly inside
}

// parsePage reads report.html as XML: the renderer writes it well-formed
// (every element closed, attributes quoted, entities HTML's), which is
// stricter than HTML needs and lets encoding/xml check the nesting.
func parsePage(t *testing.T, data []byte) page {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	var p page
	var stack []int
	var texts []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "report.html is not well-formed")
		switch tok := tok.(type) {
		case xml.StartElement:
			el := element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				name := a.Name.Local
				if a.Name.Space != "" {
					name = a.Name.Space + ":" + name
				}
				el.attrs[name] = a.Value
			}
			p.elements = append(p.elements, el)
			stack = append(stack, len(p.elements)-1)
		case xml.EndElement:
			require.NotEmpty(t, stack)
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				el := &p.elements[stack[len(stack)-1]]
				el.text += string(tok)
				switch el.name {
				case "script":
					p.scripts = append(p.scripts, string(tok))
				case "style":
					p.styles = append(p.styles, string(tok))
				}
			}
			texts = append(texts, string(tok))
		}
	}
	require.Empty(t, stack, "unclosed elements")
	p.text = strings.Join(texts, " ")
	return p
}

// selfContained lists what would make the page load something: external
// scripts, styles, images, frames, any URL in an attribute, CSS imports
// and url() references.
func selfContained(p page) []string {
	var problems []string
	loaders := map[string]bool{"link": true, "img": true, "iframe": true, "object": true, "embed": true, "audio": true, "video": true, "source": true, "image": true, "use": true, "base": true, "frame": true}
	for _, el := range p.elements {
		if loaders[el.name] {
			problems = append(problems, fmt.Sprintf("<%s> element", el.name))
		}
		for k, v := range el.attrs {
			lv := strings.ToLower(strings.TrimSpace(v))
			switch {
			case k == "src" || k == "href" && !strings.HasPrefix(lv, "#") || k == "action" || k == "xlink:href" || k == "srcset" || k == "poster" || k == "data":
				problems = append(problems, fmt.Sprintf("<%s %s=%q>", el.name, k, v))
			case strings.Contains(lv, "://") || strings.HasPrefix(lv, "//"):
				problems = append(problems, fmt.Sprintf("<%s %s=%q>: a URL", el.name, k, v))
			case k == "style" && strings.Contains(lv, "url("):
				problems = append(problems, fmt.Sprintf("<%s style=%q>: url()", el.name, v))
			}
		}
	}
	for _, css := range p.styles {
		if strings.Contains(css, "url(") || strings.Contains(css, "@import") || strings.Contains(css, "://") {
			problems = append(problems, "a <style> that loads something")
		}
	}
	for _, js := range p.scripts {
		for _, bad := range []string{"://", "fetch(", "XMLHttpRequest", "import(", "importScripts", ".src"} {
			if strings.Contains(js, bad) {
				problems = append(problems, "a <script> that loads something: "+bad)
			}
		}
	}
	return problems
}

func htmlOf(t *testing.T, s *report.Summary) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, s.WriteHTML(&b))
	return b.Bytes()
}

func (p page) byID(id string) (element, bool) {
	for _, el := range p.elements {
		if el.attrs["id"] == id {
			return el, true
		}
	}
	return element{}, false
}

func (p page) index(pred func(element) bool) int {
	for i, el := range p.elements {
		if pred(el) {
			return i
		}
	}
	return -1
}

// sampleEnv names a file TestHTML writes its page to, so that a person or
// scripts/html-screenshot.sh can look at a report with every part.
const sampleEnv = "OTPLAB_REPORT_SAMPLE"

// TestHTML: report.html is well-formed, self-contained, and shows the
// causes first, the matrix, every case with its story, the filters and
// the probe chart.
func TestHTML(t *testing.T) {
	data := htmlOf(t, report.Summarize(fakeReport(), report.Options{
		Spec: fakeOptions().Spec, Expect: fakeOptions().Expect, ExpectFile: "known.txt", Replay: fakeOptions().Replay, Probe: fakeProbe(),
	}))
	if out := os.Getenv(sampleEnv); out != "" {
		require.NoError(t, report.WriteFile(out, data)) // for scripts/html-screenshot.sh
	}
	assert.True(t, bytes.HasPrefix(data, []byte("<!DOCTYPE html>\n<html lang=\"en\">")))
	p := parsePage(t, data)
	assert.Empty(t, selfContained(p))

	// Order: causes, matrix, probe, results.
	at := func(id string) int { return p.index(func(e element) bool { return e.attrs["id"] == id }) }
	for _, id := range []string{"causes", "matrix", "probe", "results"} {
		require.GreaterOrEqual(t, at(id), 0, id)
	}
	assert.Less(t, at("causes"), at("matrix"))
	assert.Less(t, at("matrix"), at("probe"))
	assert.Less(t, at("probe"), at("results"))

	// The causes, with their claims.
	assert.Contains(t, p.text, "a delay after failures, not claimed")
	assert.Contains(t, p.text, `"throttle": {"after": 1, "delay": 1, "factor": 2}`)

	// The matrix: one row per section, one column per verdict and KNOWN.
	var header []string
	for _, el := range p.elements[at("matrix"):] {
		if el.name == "th" {
			header = append(header, el.text)
		}
		if len(header) == 7 {
			break
		}
	}
	assert.Equal(t, []string{"section", "PASS", "FAIL", "NON-STRICT", "SKIP", "ERROR", "KNOWN"}, header)

	// Each case; a failure open with its script and replay command; the
	// known failure labelled KNOWN; text escaped, not markup.
	hs, ok := p.byID("c-otplab_2fmodel_2fhotp-sequences")
	require.True(t, ok)
	assert.Equal(t, "open", hs.attrs["open"])
	assert.Equal(t, "FAIL", hs.attrs["data-label"])
	assert.Contains(t, p.text, "2. press 11 times and submit the last code: accepted")
	assert.Contains(t, p.text, "conformance run --verifier http://127.0.0.1:8080/otp --run '^otplab/model/hotp-sequences$' --seed 18446744073709551557")
	known, ok := p.byID("c-rfc4226_2f5_2e1_2fcounter-2_5e64")
	require.True(t, ok)
	assert.Equal(t, "KNOWN", known.attrs["data-label"])
	pass, ok := p.byID("c-rfc4226_2f5_2e4_2fappendix-d")
	require.True(t, ok)
	_, open := pass.attrs["open"]
	assert.False(t, open, "a pass is closed")
	assert.Contains(t, p.text, "=> rejected <b>&amp; 'locked'</b>: the throttle refused it", "message text shown as text")
	assert.Contains(t, p.text, "fake <verifier>")

	// Filters: one checkbox per column.
	var filters []string
	for _, el := range p.elements {
		if el.name == "input" && el.attrs["class"] == "filter" {
			filters = append(filters, el.attrs["value"])
		}
	}
	assert.Equal(t, []string{"PASS", "FAIL", "NON-STRICT", "SKIP", "ERROR", "KNOWN"}, filters)

	// The probe chart, inline.
	assert.GreaterOrEqual(t, p.index(func(e element) bool { return e.name == "svg" }), at("probe"))
	assert.Contains(t, p.text, "look-ahead")
}

// TestHTMLSelfContainedCheck: the checker catches what would load
// something, so that TestHTML can fail.
func TestHTMLSelfContainedCheck(t *testing.T) {
	for _, bad := range []string{
		`<html><head><script src="https://cdn.example/x.js"></script></head></html>`,
		`<html><head><link rel="stylesheet" href="x.css"/></head></html>`,
		`<html><body><img src="data:x"/></body></html>`,
		`<html><body><a href="https://example.org/">x</a></body></html>`,
		`<html><head><style>body { background: url(x.png) }</style></head></html>`,
		`<html><body><script>fetch('/x')</script></body></html>`,
		`<html><body><svg xmlns="http://www.w3.org/2000/svg"></svg></body></html>`,
	} {
		assert.NotEmpty(t, selfContained(parsePage(t, []byte(bad))), bad)
	}
	assert.Empty(t, selfContained(parsePage(t, []byte(`<html><body><a href="#c-x">x</a><p>see http://127.0.0.1:8080/</p></body></html>`))))
}

// TestHTMLOtherRuns: a run that could not start, one without causes and
// a probe page render, well-formed and self-contained.
func TestHTMLOtherRuns(t *testing.T) {
	p := parsePage(t, htmlOf(t, report.Summarize(nil, report.Options{Spec: "exec:x", StartError: errHello})))
	assert.Empty(t, selfContained(p))
	assert.Contains(t, p.text, "verifier did not answer hello")
	_, hasResults := p.byID("results")
	assert.False(t, hasResults)

	rep := fakeReport()
	rep.Causes = nil
	p = parsePage(t, htmlOf(t, report.Summarize(rep, report.Options{})))
	assert.Contains(t, p.text, "No known policy variant explains the failures below")

	var b bytes.Buffer
	require.NoError(t, report.WriteProbeHTML(&b, fakeProbe()))
	p = parsePage(t, b.Bytes())
	assert.Empty(t, selfContained(p))
	_, hasProbe := p.byID("probe")
	assert.True(t, hasProbe)
}

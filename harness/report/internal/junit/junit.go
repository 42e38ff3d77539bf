// Package junit writes test reports in the JUnit XML format that CI
// systems read (Jenkins, GitLab, GitHub Actions reporters, Azure DevOps):
//
//	testsuites > testsuite[name,tests,failures,errors,skipped,time,timestamp]
//	  > testcase[name,classname,time] > failure[message,type] | error | skipped
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// Problem is a failure, an error or a skip: a one-line message, a type,
// and the full text.
type Problem struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Case is one test case. At most one of Failure, Error and Skipped is set;
// none means it passed.
type Case struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      Duration `xml:"time,attr"`
	Failure   *Problem `xml:"failure,omitempty"`
	Error     *Problem `xml:"error,omitempty"`
	Skipped   *Problem `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`
}

// Property is a name and a value attached to a suite.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Suite is a group of cases.
type Suite struct {
	Name       string
	Timestamp  time.Time
	Properties []Property
	Cases      []Case
}

// Duration is a duration written as seconds with millisecond precision,
// as JUnit's time attributes are.
type Duration time.Duration

// MarshalXMLAttr writes the duration in seconds.
func (d Duration) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	return xml.Attr{Name: name, Value: fmt.Sprintf("%.3f", time.Duration(d).Seconds())}, nil
}

type xmlSuites struct {
	XMLName  xml.Name   `xml:"testsuites"`
	Name     string     `xml:"name,attr"`
	Tests    int        `xml:"tests,attr"`
	Failures int        `xml:"failures,attr"`
	Errors   int        `xml:"errors,attr"`
	Skipped  int        `xml:"skipped,attr"`
	Time     Duration   `xml:"time,attr"`
	Suites   []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       Duration    `xml:"time,attr"`
	Timestamp  string      `xml:"timestamp,attr,omitempty"`
	Properties *[]Property `xml:"properties>property,omitempty"`
	Cases      []Case      `xml:"testcase"`
}

// Write writes the suites as one testsuites document named name, with the
// counts and times summed from the cases.
func Write(w io.Writer, name string, suites []Suite) error {
	doc := xmlSuites{Name: name}
	for _, s := range suites {
		xs := xmlSuite{Name: s.Name, Cases: s.Cases}
		if !s.Timestamp.IsZero() {
			xs.Timestamp = s.Timestamp.UTC().Format("2006-01-02T15:04:05")
		}
		if len(s.Properties) > 0 {
			xs.Properties = &s.Properties
		}
		for _, c := range s.Cases {
			xs.Tests++
			xs.Time += c.Time
			switch {
			case c.Failure != nil:
				xs.Failures++
			case c.Error != nil:
				xs.Errors++
			case c.Skipped != nil:
				xs.Skipped++
			}
		}
		doc.Tests += xs.Tests
		doc.Failures += xs.Failures
		doc.Errors += xs.Errors
		doc.Skipped += xs.Skipped
		doc.Time += xs.Time
		doc.Suites = append(doc.Suites, xs)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

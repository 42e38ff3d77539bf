package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/report"
)

// A go test user (or any Go program) writes the CLI's report files from a
// run of the engine.
func Example() {
	v, err := reference.New(reference.Default())
	if err != nil {
		panic(err)
	}
	rep, err := harness.Execute(context.Background(), v, harness.Options{Run: regexp.MustCompile(`^rfc4226/5\.4/`), Seed: 1})
	s := report.Summarize(rep, report.Options{StartError: err, Spec: "reference"})

	dir, _ := os.MkdirTemp("", "otplab-report-")
	defer os.RemoveAll(dir)
	if err := s.WriteDir(dir); err != nil {
		panic(err)
	}
	for _, f := range []string{report.JSONFile, report.JUnitFile, report.HTMLFile} {
		_, err := os.Stat(filepath.Join(dir, f))
		fmt.Println(f, err == nil)
	}
	fmt.Println(s.Outcome, s.Headline())
	// Output:
	// report.json true
	// junit.xml true
	// report.html true
	// passed 1 passed
}

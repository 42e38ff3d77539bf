package report

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/otplab/otplab/harness"
)

// The files WriteDir writes.
const (
	JSONFile  = "report.json"
	JUnitFile = "junit.xml"
	HTMLFile  = "report.html"
)

// WriteDir writes report.json, junit.xml and report.html into dir, which
// must exist. Each file is rendered in full before any is written, and
// each is written through a temporary file and a rename.
func (s *Summary) WriteDir(dir string) error {
	var js, ju, page bytes.Buffer
	if err := s.WriteJSON(&js); err != nil {
		return fmt.Errorf("%s: %w", JSONFile, err)
	}
	if err := s.WriteJUnit(&ju); err != nil {
		return fmt.Errorf("%s: %w", JUnitFile, err)
	}
	if err := s.WriteHTML(&page); err != nil {
		return fmt.Errorf("%s: %w", HTMLFile, err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{JUnitFile, ju.Bytes()}, {JSONFile, js.Bytes()}, {HTMLFile, page.Bytes()}} {
		if err := WriteFile(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// WriteDir judges a run and writes its report files into dir: a shortcut
// for Summarize(rep, opts).WriteDir(dir).
func WriteDir(dir string, rep *harness.Report, opts Options) error {
	return Summarize(rep, opts).WriteDir(dir)
}

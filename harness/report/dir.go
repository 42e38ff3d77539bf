package report

import (
	"bytes"
	"fmt"
	"os"
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

// WriteFile writes data to name through a temporary file in the same
// directory and a rename, so that a reader never sees half a file. The
// file is readable by all (0644): reports hold no secret.
func WriteFile(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

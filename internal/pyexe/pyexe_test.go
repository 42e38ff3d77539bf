package pyexe

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPathRunsPython: the path found is an absolute interpreter that runs
// Python code, and asking twice gives the same answer.
func TestPathRunsPython(t *testing.T) {
	var f Finder
	p, err := f.Path()
	if errors.Is(err, ErrNoPython) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(p) {
		t.Fatalf("path %q is not absolute", p)
	}
	out, err := exec.Command(p, "-c", "print(6*7)").Output()
	if err != nil || strings.TrimSpace(string(out)) != "42" {
		t.Fatalf("%s -c print(6*7): %q, %v", p, out, err)
	}
	if q, _ := f.Path(); q != p {
		t.Fatalf("second answer %q, first %q", q, p)
	}
}

// TestPathWithoutPython: with no python3 on PATH the error says so.
func TestPathWithoutPython(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var f Finder
	_, err := f.Path()
	if !errors.Is(err, ErrNoPython) {
		t.Fatalf("err = %v, want ErrNoPython", err)
	}
}

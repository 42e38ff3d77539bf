// Command gencases writes docs/cases.md from the harness catalogue. Run it
// through go generate in harness/.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/otplab/otplab/harness"
)

func main() {
	out := flag.String("o", "docs/cases.md", "output file")
	flag.Parse()
	var buf bytes.Buffer
	if err := harness.WriteCatalogue(&buf); err != nil {
		fmt.Fprintln(os.Stderr, "gencases:", err)
		os.Exit(1)
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".cases-*.md")
	if err == nil {
		_, err = tmp.Write(buf.Bytes())
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o644)
		}
		if err == nil {
			err = os.Rename(tmp.Name(), *out)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gencases: %s: %v\n", *out, err)
		os.Exit(1)
	}
}

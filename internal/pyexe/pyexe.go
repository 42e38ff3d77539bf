// Package pyexe finds the Python interpreter that tests run verifiers
// with. The python3 on PATH is often a wrapper (a pyenv shim is a shell
// script that runs pyenv before Python), and a wrapper started under
// libfaketime or on a busy machine can take seconds before Python itself
// starts. Tests ask Python once for sys.executable, the interpreter the
// wrapper ends up running, and start that directly.
package pyexe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ErrNoPython is returned when no python3 is on PATH.
var ErrNoPython = errors.New("python3 is not installed")

// Finder finds the interpreter once and remembers the answer. The zero
// value is ready to use; it is safe for concurrent use.
type Finder struct {
	once sync.Once
	path string
	err  error
}

// Path returns the absolute path of the interpreter that python3 on PATH
// runs, or an error wrapping ErrNoPython when there is none.
func (f *Finder) Path() (string, error) {
	f.once.Do(func() { f.path, f.err = find() })
	return f.path, f.err
}

func find() (string, error) {
	wrapper, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoPython, err)
	}
	// Generous: the wrapper itself may be slow to start on a busy machine;
	// this is paid once per test binary.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, wrapper, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s -c 'print(sys.executable)': %w", ErrNoPython, wrapper, err)
	}
	path := strings.TrimSpace(string(out))
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		// An embedded or odd build that does not know its own path: the
		// wrapper is all there is.
		return wrapper, nil
	}
	return path, nil
}

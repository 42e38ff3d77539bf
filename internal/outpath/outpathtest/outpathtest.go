// Package outpathtest helps tests check that writers never replace a
// special file: it presents a path as a character device without creating
// one (so that no test ever points a writer at the real /dev/null), and
// reads a FIFO the way another process would.
package outpathtest

import (
	"io"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/otplab/otplab/internal/outpath"
)

// DeviceStat reports dev as a character device (as /dev/null is) and
// every other path as os.Stat does.
func DeviceStat(dev string) outpath.StatFunc {
	return func(name string) (fs.FileInfo, error) {
		st, err := os.Stat(name)
		if err != nil || name != dev {
			return st, err
		}
		return charDevice{st}, nil
	}
}

type charDevice struct{ fs.FileInfo }

func (c charDevice) Mode() fs.FileMode { return fs.ModeDevice | fs.ModeCharDevice | 0o666 }

// Drain starts a reader of the FIFO at p and returns what it read once the
// writer closes it ("open: ..." when it cannot open it).
func Drain(p string) <-chan string {
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(p)
		if err != nil {
			got <- "open: " + err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		// Closed before the news: a reader still open when the next
		// writer opens the FIFO would take that writer's data with it
		// (the writer's open returns at once, and the data is lost
		// when this reader closes), and the next Drain would wait for
		// a writer that has come and gone.
		f.Close()
		got <- string(b)
	}()
	return got
}

// Received waits for what a Drain read, failing the test after 30 s.
func Received(t testing.TB, got <-chan string) string {
	t.Helper()
	select {
	case s := <-got:
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("the FIFO's reader got nothing")
		return ""
	}
}

// IsFIFO fails the test unless p is still a FIFO (not replaced by a
// regular file).
func IsFIFO(t testing.TB, p string) {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != fs.ModeNamedPipe {
		t.Errorf("%s is no longer a FIFO: %v", p, st.Mode())
	}
}

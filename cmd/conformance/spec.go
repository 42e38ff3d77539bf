package main

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

// verifierHelp describes the values of --verifier.
const verifierHelp = `the verifier under test: "reference" (the built-in reference verifier),
"exec:CMD ARGS..." (a subprocess speaking protocol v1 on stdin/stdout; the
command is split into words like a shell would, with '...' and "..." quoting,
but no shell runs) or "http://HOST:PORT/PREFIX" (protocol v1 over HTTP)`

// openVerifier turns a --verifier value into a verifier and the function
// that releases it.
func openVerifier(spec string, timeout time.Duration) (harness.Verifier, io.Closer, error) {
	switch {
	case spec == "reference":
		v, err := reference.New(reference.Default())
		if err != nil {
			return nil, nil, err
		}
		return v, io.NopCloser(nil), nil
	case strings.HasPrefix(spec, "exec:"):
		argv, err := splitWords(strings.TrimPrefix(spec, "exec:"))
		if err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		if len(argv) == 0 {
			return nil, nil, usagef("--verifier %q: no command after exec:", spec)
		}
		if _, err := exec.LookPath(argv[0]); err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		c, err := wire.NewExec(argv, wire.ExecOptions{})
		if err != nil {
			return nil, nil, usagef("--verifier %q: %w", spec, err)
		}
		return c, c, nil
	case strings.HasPrefix(spec, "http://"), strings.HasPrefix(spec, "https://"):
		c, err := wire.NewHTTP(spec, wire.HTTPOptions{Timeout: timeout})
		if err != nil {
			return nil, nil, usagef("--verifier: %w", err)
		}
		return c, c, nil
	default:
		return nil, nil, usagef("--verifier %q: want reference, exec:CMD ARGS... or http://HOST:PORT/PREFIX", spec)
	}
}

// splitWords splits a command line into words as a POSIX shell would,
// without expanding anything: blanks separate words, '...' quotes
// literally, "..." quotes with \" \\ \$ and \` as escapes, and a backslash
// outside quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words, in = append(words, cur.String()), false
				cur.Reset()
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated ' quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i, in = i+1+j, true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf(`unterminated " quote`)
			}
			in = true
		case c == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("a backslash at the end")
			}
			i++
			cur.WriteByte(s[i])
			in = true
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// shellQuote quotes s for a POSIX shell, always in single quotes.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

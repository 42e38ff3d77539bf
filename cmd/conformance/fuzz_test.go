package main

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/otplab/otplab/harness/wire"
)

// FuzzSplitWords: any command line splits into words or fails with a
// one-line error, never a panic; the words, quoted back with shellQuote,
// split into the same words.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{
		`python3 examples/pyshim/verifier.py --db 'my db' "x\"y" a\ b`,
		`'unterminated`, `"unterminated`, `trailing\`, "a\tb\nc", `''`, `""`, `"\$\` + "`" + `\\"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q spans lines", err)
			}
			return
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellQuote(w))
		}
		again, err := splitWords(strings.Join(quoted, " "))
		if err != nil {
			t.Fatalf("quoted words %q do not split: %v", quoted, err)
		}
		if !slices.Equal(words, again) && !(len(words) == 0 && len(again) == 0) {
			t.Fatalf("words %q came back as %q", words, again)
		}
	})
}

// FuzzParseVerifier: any --verifier value is a verifier spec or a usage
// error that names the problem on one line; an exec spec has a command
// and an http spec a URL the HTTP client takes.
func FuzzParseVerifier(f *testing.F) {
	for _, s := range []string{
		"reference", "exec:python3 v.py", "exec:", "exec:''", "http://127.0.0.1:8080/otp", "https://[::1]:443/",
		"http://h:99999/", "http://h:/", "http://h/p?x", "tcp://x", "http://u@h/", "HTTP://h/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := parseVerifier(s)
		if err != nil {
			var u usageError
			if !errors.As(err, &u) {
				t.Fatalf("error %v is not a usage error", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") && !strings.ContainsAny(s, "\n\r") {
				t.Fatalf("error %q spans lines", err)
			}
			return
		}
		switch spec.kind {
		case "reference":
			if s != "reference" {
				t.Fatalf("%q taken for the reference", s)
			}
		case "exec":
			if len(spec.argv) == 0 || spec.argv[0] == "" {
				t.Fatalf("%q: exec without a command", s)
			}
		case "http":
			c, err := wire.NewHTTP(spec.url, wire.HTTPOptions{})
			if err != nil {
				t.Fatalf("%q passed the check, but the client refuses it: %v", s, err)
			}
			_ = c.Close()
		default:
			t.Fatalf("%q: kind %q", s, spec.kind)
		}
	})
}

package main

import (
	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/report"
)

// summarize judges a finished run with the flags' options: the engine's
// report (nil when hello failed), the expect file's judgements and the
// replay commands; brief asks for the text summary of a log. Rendering is
// harness/report's, so that a go test user writes the same files.
func summarize(rep *harness.Report, helloErr error, cfg config, f *runFlags, brief bool) *report.Summary {
	opts := report.Options{Spec: f.verifier, ProfileFile: f.profile, Strict: f.strict, Selected: cfg.total,
		StartError: helloErr, ExpectFile: f.expect, Replay: f.replayCommand, Brief: brief}
	if rep != nil && cfg.expect != nil {
		opts.Expect = cfg.expect.JudgeAll(rep.Results)
	}
	return report.Summarize(rep, opts)
}

// exitOf maps a run's outcome to the exit code.
func exitOf(s *report.Summary) int {
	switch s.Outcome {
	case report.Passed:
		return exitOK
	case report.Failed:
		return exitFailed
	default:
		return exitIncomplete
	}
}

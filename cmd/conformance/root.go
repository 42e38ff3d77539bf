package main

import (
	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "conformance",
		Short: "Run otplab's OTP conformance suite against a verifier",
		Long: `conformance drives simulated OTP tokens through a server-side verifier and
tells, case by case and with the RFC section, where the verifier departs from
RFC 4226 / RFC 6238 and from the policy it claims.

Verifiers speak protocol v1 (docs/protocol.md): as a subprocess over JSON lines
(--verifier 'exec:CMD ARGS...') or over HTTP (--verifier http://HOST:PORT/PREFIX).

Exit codes: 0 nothing failed; 1 a case failed, or writing the report failed;
2 usage or configuration error; 3 the run is incomplete (no hello, a case in
ERROR, interrupted).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRunCmd(), newListCmd(), newServeCmd(), newProbeCmd(), newCompareCmd())
	return root
}

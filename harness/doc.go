// Package harness is otplab's conformance engine: it drives simulated OTP
// tokens through a server-side verifier and tells, case by case and with
// the RFC section, where the verifier departs from RFC 4226 / RFC 6238 and
// from the policy it claims.
//
// A verifier is anything that implements [Verifier]: the operations of
// protocol v1 (enroll, check, resync, unlock). The policy it claims is a
// [Profile] (look-ahead, resync, lockout, TOTP skew, clock), given in the
// options or answered by the verifier itself through [Describer].
//
// Every case has a stable ID tied to its spec section, such as
// "rfc4226/7.4/look-ahead-edge", a requirement level (MUST, SHOULD,
// PROFILE, INFO) and a body that enrolls fresh tokens (new serial, new
// secret), so cases never disturb each other and one verifier instance
// serves the whole run. [Cases] lists the catalogue.
//
// Besides the fixed cases, two property cases play random sequences of
// token events against the verifier and against an exact model of the
// profile, and shrink any disagreement to a short numbered script.
//
// The harness knows every secret. Where the profile leaves a choice open,
// or codes collide by chance inside a window, its model keeps every state
// a correct verifier could be in, so a correct verifier is never accused by
// bad luck.
//
// The catalogue is laid out by section, as h2spec lays out its specs: the
// cases of a section are built in the file named after it, the ID's
// section with '/' and '.' written '_' (rfc4226/7.4/look-ahead-edge is in
// rfc4226_7_4.go, otplab/flows/purposes in otplab_flows.go), one function
// per case, named after the ID's last element (caseLookAheadEdge), except
// where a case shape is called with its values in catalogue() (counterCase,
// skewCase) or a table builds a family (hygieneCases, the input cases). A case
// shape sits in the file of the section that uses it (lockoutCase,
// resyncCase, skewCase; policyCase, in rfc4226_7_3.go, also builds the
// auto-resync cases of 7.4). The helpers the sections share are in files
// named for what they do: needs.go (reasons to skip), submissions.go
// (submitting on a token's behalf), concurrent.go (requests sent at
// once), codepickers.go, timesteps.go, guessing.go; the property engine is
// in property.go. catalogue() in catalogue.go alone fixes the order in
// which the cases run, and docs/cases.md names each case's file.
//
// Developers call [Run] from their own tests; the conformance CLI calls
// [Execute], which returns a structured [Report].
package harness

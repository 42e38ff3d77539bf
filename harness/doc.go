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
// Developers call [Run] from their own tests; the conformance CLI calls
// [Execute], which returns a structured [Report].
package harness

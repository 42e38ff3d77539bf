// Package stress plays many simulated token users at once against the
// nodes of one verifier deployment and checks what they saw for
// linearizability.
//
// Each user owns one token: a C100 (HOTP) whose owner presses the button,
// lets codes go unsubmitted, mistypes, replays an old code, sends one code
// to two nodes at once, resyncs with two codes and gets locked out and
// unlocked, or a TOTP app. Every request's invoke and return time, node and
// reply are recorded, and each token's history is checked with porcupine
// against the profile's exact model ([harness.Model]). A request that timed
// out or failed has an unknown outcome: it may or may not have taken effect,
// at any moment after it was sent, so a correct verifier under overload is
// never accused.
//
// A violation is reported as the first window of the token's history,
// between two quiescent points, that no correct verifier produces, starting
// from the states the history before it allows, in the token's terms ("code of counter 41 accepted on node 2 at 12.003 s and
// on node 3 at 12.004 s"), with porcupine's HTML timeline when the report is
// written to a directory.
//
// A violation's cause is proven, not guessed from the window: the
// explanation engine ([harness.ProveCauses]) replays the token's whole
// history under each known variant of the profile (a race, state kept per
// node, another window, ...), keeps those that fit every reply and that no
// sampled history of a passing token refutes, and names ties as
// alternatives. Violations are grouped by cause in the report; a violation
// that nothing fits, or that could not be replayed exactly, says why it has
// no cause.
package stress

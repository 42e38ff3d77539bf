// Package token is a software model of one-time-password hardware tokens.
//
// It has two layers. The engine ([Key]) computes RFC 4226 HOTP and RFC 6238
// TOTP codes for SHA-1, SHA-256 and SHA-512 with 6 to 10 digits; a key is
// prepared once and then yields codes without allocating. The devices
// ([C100], [C200]) model what a person holding a token sees: a 13-digit
// serial, a button, a display that stays on for a while, a counter that
// only moves forward, a clock that drifts.
//
// Time is always explicit: every method that depends on the moment takes it
// as an argument (Press(now), Code(now)), so the same calls give the same
// results in tests and in tools. Nothing in this package reads the wall clock.
package token

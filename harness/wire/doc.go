// Package wire is protocol v1, the public contract between the otplab
// conformance harness and a verifier written in any language.
//
// It holds the message types ([Request], [Reply], [Token]) with their
// strict decoders, two clients that implement [harness.Verifier] and
// [harness.Describer] so that the engine does not know which transport it
// drives, and two servers that expose any [harness.Verifier] over the
// protocol:
//
//   - [Exec] starts the verifier as one long-lived subprocess and speaks
//     JSON lines over its stdin and stdout, with pipelined requests matched
//     by id. A subprocess that dies is restarted for the next request; one
//     that hangs, prints garbage, answers with a wrong id or writes a line
//     of many megabytes fails the affected requests, never the harness.
//   - [HTTP] posts each request to PREFIX/<op> over keep-alive
//     connections; any status but 200, a redirect, or a body that is not a
//     reply is a transport failure.
//   - [Handler] serves a verifier over HTTP and [ServeLines] over JSON
//     lines (the exec transport, seen from the verifier's side).
//
// Errors: a verifier that answers ok:false yields a
// *[harness.RefusedError] (wrapping [harness.ErrUnsupported] when the reply
// says unsupported:true); anything else that goes wrong between the two
// ends wraps [ErrTransport], and a reply that is not a protocol v1 reply
// also wraps [ErrMalformed]. The engine turns both into ERROR. The
// clients mask the secret of every token they enrolled in every error
// they return (see [Redactor]), whatever the verifier printed.
//
// docs/protocol.md describes the protocol for vendors.
package wire

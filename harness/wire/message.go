package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/internal/printable"
	"github.com/otplab/otplab/token"
)

// Protocol is the protocol version this package speaks; hello carries it.
const Protocol = 1

// The operations of protocol v1.
const (
	OpHello  = "hello"
	OpEnroll = "enroll"
	OpCheck  = "check"
	OpResync = "resync"
	OpUnlock = "unlock"
)

// Ops lists the operations of protocol v1 in the order the protocol
// document presents them.
func Ops() []string { return []string{OpHello, OpEnroll, OpCheck, OpResync, OpUnlock} }

// DefaultMaxMessage bounds one message (an exec line or an HTTP body): a
// longer one is an error, never an allocation of that size.
const DefaultMaxMessage = 1 << 20

// ErrTransport is wrapped by every failure between the harness and the
// verifier that is not the verifier's own ok:false answer: a process that
// died, a connection that closed, an HTTP status other than 200, a reply
// that never came or could not be read.
var ErrTransport = errors.New("transport failure")

// ErrMalformed is wrapped by errors about a message that is not a protocol
// v1 message: invalid JSON, a missing or wrong-typed field, an id that
// matches no request. It is a kind of transport failure: errors.Is with
// [ErrTransport] holds too.
var ErrMalformed error = &kindError{msg: "malformed message", parent: ErrTransport}

// kindError is a sentinel that is also a kind of another sentinel.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Token is the token object of an enroll request. Secret is hex; Counter
// is present for hotp tokens, Period and T0 for totp tokens.
type Token struct {
	Serial    string  `json:"serial"`
	Kind      string  `json:"kind"`
	Algorithm string  `json:"algorithm"`
	Digits    int     `json:"digits"`
	Secret    string  `json:"secret"`
	Counter   *uint64 `json:"counter,omitempty"`
	Period    *int64  `json:"period,omitempty"`
	T0        *int64  `json:"t0,omitempty"`
}

// String describes the token without its secret.
func (t Token) String() string {
	return fmt.Sprintf("%s %s %s/%d", t.Kind, t.Serial, t.Algorithm, t.Digits)
}

// GoString is String, so that %#v cannot leak the secret either.
func (t Token) GoString() string { return "wire.Token{" + t.String() + "}" }

// TokenFrom converts the harness's token to its wire form.
func TokenFrom(t harness.Token) Token {
	w := Token{Serial: t.Serial, Kind: string(t.Kind), Algorithm: t.Algorithm.String(), Digits: t.Digits, Secret: hex.EncodeToString(t.Secret)}
	if t.Kind == harness.TOTP {
		period, t0 := t.Period, t.T0
		w.Period, w.T0 = &period, &t0
	} else {
		counter := t.Counter
		w.Counter = &counter
	}
	return w
}

// Harness converts the wire token to the harness's form, checking every
// field the protocol requires.
func (t Token) Harness() (harness.Token, error) {
	out := harness.Token{Serial: t.Serial, Kind: harness.Kind(t.Kind), Digits: t.Digits}
	if t.Serial == "" {
		return harness.Token{}, malformed("token: empty serial")
	}
	alg, err := token.ParseAlgorithm(t.Algorithm)
	if err != nil || alg.String() != t.Algorithm {
		return harness.Token{}, malformed("token %s: algorithm %q (want SHA1, SHA256 or SHA512)", t.Serial, t.Algorithm)
	}
	out.Algorithm = alg
	secret, err := hex.DecodeString(t.Secret)
	if err != nil || len(secret) == 0 {
		return harness.Token{}, malformed("token %s: secret is not a non-empty hex string", t.Serial)
	}
	out.Secret = secret
	switch out.Kind {
	case harness.HOTP:
		if t.Counter == nil {
			return harness.Token{}, malformed("token %s: hotp token without counter", t.Serial)
		}
		out.Counter = *t.Counter
	case harness.TOTP:
		if t.Period == nil || t.T0 == nil {
			return harness.Token{}, malformed("token %s: totp token without period and t0", t.Serial)
		}
		out.Period, out.T0 = *t.Period, *t.T0
	default:
		return harness.Token{}, malformed("token %s: kind %q (want hotp or totp)", t.Serial, t.Kind)
	}
	return out, nil
}

// Request is one protocol v1 request. Only the fields of its Op are
// encoded: Protocol for hello, Token for enroll, Serial, Code, Time and
// (when not empty) Purpose for check, Serial, Codes and Time for resync,
// Serial for unlock.
type Request struct {
	ID       int64
	Op       string
	Protocol int
	Token    *Token
	Serial   string
	Code     string
	Codes    []string
	// Time is the simulated now in Unix seconds.
	Time int64
	// Purpose is the door a check's code is typed at ("login",
	// "recovery", ...); empty means absent, which is login. The decoder
	// keeps any string: whether the verifier serves it is the verifier's
	// answer (unsupported), not a malformed message.
	Purpose string
}

// The shapes of each op's request on the wire.
type (
	helloReq struct {
		ID       int64  `json:"id"`
		Op       string `json:"op"`
		Protocol int    `json:"protocol"`
	}
	enrollReq struct {
		ID    int64  `json:"id"`
		Op    string `json:"op"`
		Token *Token `json:"token"`
	}
	checkReq struct {
		ID      int64  `json:"id"`
		Op      string `json:"op"`
		Serial  string `json:"serial"`
		Code    string `json:"code"`
		Time    int64  `json:"time"`
		Purpose string `json:"purpose,omitempty"`
	}
	resyncReq struct {
		ID     int64    `json:"id"`
		Op     string   `json:"op"`
		Serial string   `json:"serial"`
		Codes  []string `json:"codes"`
		Time   int64    `json:"time"`
	}
	serialReq struct {
		ID     int64  `json:"id"`
		Op     string `json:"op"`
		Serial string `json:"serial"`
	}
	bareReq struct {
		ID int64  `json:"id"`
		Op string `json:"op"`
	}
)

// MarshalJSON encodes the request with exactly the fields of its op.
func (r Request) MarshalJSON() ([]byte, error) {
	switch r.Op {
	case OpHello:
		return json.Marshal(helloReq{r.ID, r.Op, r.Protocol})
	case OpEnroll:
		return json.Marshal(enrollReq{r.ID, r.Op, r.Token})
	case OpCheck:
		return json.Marshal(checkReq{r.ID, r.Op, r.Serial, r.Code, r.Time, r.Purpose})
	case OpResync:
		codes := r.Codes
		if codes == nil {
			codes = []string{}
		}
		return json.Marshal(resyncReq{r.ID, r.Op, r.Serial, codes, r.Time})
	case OpUnlock:
		return json.Marshal(serialReq{r.ID, r.Op, r.Serial})
	default:
		return json.Marshal(bareReq{r.ID, r.Op})
	}
}

// rawRequest is a request as read, every field optional so that a missing
// one can be told from a zero one.
type rawRequest struct {
	ID       *int64    `json:"id"`
	Op       *string   `json:"op"`
	Protocol *int      `json:"protocol"`
	Token    *rawToken `json:"token"`
	Serial   *string   `json:"serial"`
	Code     *string   `json:"code"`
	Codes    *[]string `json:"codes"`
	Time     *int64    `json:"time"`
	// Purpose is read only for check: other ops carry none, so whatever
	// they hold there is ignored like an unknown field.
	Purpose json.RawMessage `json:"purpose"`
}

type rawToken struct {
	Serial    *string `json:"serial"`
	Kind      *string `json:"kind"`
	Algorithm *string `json:"algorithm"`
	Digits    *int    `json:"digits"`
	Secret    *string `json:"secret"`
	Counter   *uint64 `json:"counter"`
	Period    *int64  `json:"period"`
	T0        *int64  `json:"t0"`
}

// DecodeRequest reads one request and checks that it carries every field
// its op needs, with the right JSON type. Unknown fields are ignored. An
// op this package does not know is not an error here (the reply says
// unsupported). On error the returned request still holds the id when it
// could be read, so that the error reply can echo it.
func DecodeRequest(data []byte) (Request, error) {
	var raw rawRequest
	err := json.Unmarshal(data, &raw)
	var req Request
	if raw.ID != nil {
		req.ID = *raw.ID
	}
	if err != nil {
		return req, malformed("request: %s", jsonProblem(err))
	}
	if raw.ID == nil {
		return req, malformed("request: missing id")
	}
	if raw.Op == nil {
		return req, malformed("request %d: missing op", req.ID)
	}
	req.Op = *raw.Op
	missing := func(field string) error { return malformed("%s request %d: missing %s", req.Op, req.ID, field) }
	switch req.Op {
	case OpHello:
		if raw.Protocol == nil {
			return req, missing("protocol")
		}
		req.Protocol = *raw.Protocol
	case OpEnroll:
		if raw.Token == nil {
			return req, missing("token")
		}
		t, err := raw.Token.token()
		if err != nil {
			return req, fmt.Errorf("enroll request %d: %w", req.ID, err)
		}
		req.Token = &t
	case OpCheck:
		if raw.Serial == nil || raw.Code == nil || raw.Time == nil {
			return req, missing("serial, code or time")
		}
		req.Serial, req.Code, req.Time = *raw.Serial, *raw.Code, *raw.Time
		if len(raw.Purpose) > 0 && string(raw.Purpose) != "null" {
			if err := json.Unmarshal(raw.Purpose, &req.Purpose); err != nil {
				return req, malformed("check request %d: field \"purpose\" is %s, want a string", req.ID, jsonValueKind(raw.Purpose))
			}
		}
	case OpResync:
		if raw.Serial == nil || raw.Codes == nil || raw.Time == nil {
			return req, missing("serial, codes or time")
		}
		req.Serial, req.Codes, req.Time = *raw.Serial, *raw.Codes, *raw.Time
	case OpUnlock:
		if raw.Serial == nil {
			return req, missing("serial")
		}
		req.Serial = *raw.Serial
	}
	return req, nil
}

func (r *rawToken) token() (Token, error) {
	if r.Serial == nil || r.Kind == nil || r.Algorithm == nil || r.Digits == nil || r.Secret == nil {
		return Token{}, malformed("token: missing serial, kind, algorithm, digits or secret")
	}
	t := Token{Serial: *r.Serial, Kind: *r.Kind, Algorithm: *r.Algorithm, Digits: *r.Digits, Secret: *r.Secret,
		Counter: r.Counter, Period: r.Period, T0: r.T0}
	if _, err := t.Harness(); err != nil {
		return Token{}, err
	}
	return t, nil
}

// Reply is one protocol v1 reply. Accepted is set (true or false) in
// replies to check and resync; Name, Ops and Profile in replies to hello.
type Reply struct {
	ID          int64            `json:"id"`
	OK          bool             `json:"ok"`
	Error       string           `json:"error,omitempty"`
	Unsupported bool             `json:"unsupported,omitempty"`
	Accepted    *bool            `json:"accepted,omitempty"`
	Locked      bool             `json:"locked,omitempty"`
	Name        string           `json:"name,omitempty"`
	Ops         []string         `json:"ops,omitempty"`
	Profile     *harness.Profile `json:"profile,omitempty"`
}

// rawReply is a reply as read, every field optional.
type rawReply struct {
	ID          *int64          `json:"id"`
	OK          *bool           `json:"ok"`
	Error       *string         `json:"error"`
	Unsupported *bool           `json:"unsupported"`
	Accepted    *bool           `json:"accepted"`
	Locked      *bool           `json:"locked"`
	Name        *string         `json:"name"`
	Ops         *[]string       `json:"ops"`
	Profile     json.RawMessage `json:"profile"`
}

// decodeEnvelope reads a reply far enough to find its id. The error, if
// any, is about the reply's shape; hasID tells whether the id could still
// be read, so that the problem can be charged to the right request.
func decodeEnvelope(data []byte) (raw rawReply, id int64, hasID bool, err error) {
	err = json.Unmarshal(data, &raw)
	if raw.ID != nil {
		id, hasID = *raw.ID, true
	}
	if err != nil {
		return raw, id, hasID, malformed("reply: %s: %s", jsonProblem(err), excerpt(data))
	}
	if !hasID {
		return raw, 0, false, malformed("reply without an integer id: %s", excerpt(data))
	}
	return raw, id, true, nil
}

// reply checks the fields the reply to op must carry.
func (raw *rawReply) reply(op string, data []byte) (Reply, error) {
	r := Reply{ID: *raw.ID}
	if raw.OK == nil {
		return r, malformed("reply to %s: missing ok: %s", op, excerpt(data))
	}
	r.OK = *raw.OK
	if !r.OK {
		if raw.Error != nil {
			r.Error = *raw.Error
		}
		if raw.Unsupported != nil {
			r.Unsupported = *raw.Unsupported
		}
		return r, nil
	}
	if raw.Locked != nil {
		r.Locked = *raw.Locked
	}
	switch op {
	case OpCheck, OpResync:
		if raw.Accepted == nil {
			return r, malformed("reply to %s: missing accepted: %s", op, excerpt(data))
		}
		r.Accepted = raw.Accepted
	case OpHello:
		if raw.Name != nil {
			r.Name = *raw.Name
		}
		if raw.Ops != nil {
			r.Ops = *raw.Ops
		}
		if len(raw.Profile) > 0 && string(raw.Profile) != "null" {
			p, err := harness.ParseProfile(raw.Profile)
			if err != nil {
				return r, fmt.Errorf("hello reply: %w", err)
			}
			r.Profile = &p
		}
	}
	return r, nil
}

// DecodeReply reads the reply to a request of the given op, strictly: the
// id must be an integer, ok a boolean, accepted (in replies to check and
// resync) a boolean that is present, and a claimed profile valid. Unknown
// fields are ignored. Errors wrap [ErrMalformed], or [harness.ErrProfile]
// for a hello reply whose profile is invalid.
func DecodeReply(data []byte, op string) (Reply, error) {
	raw, _, _, err := decodeEnvelope(data)
	if err != nil {
		return Reply{}, err
	}
	return raw.reply(op, data)
}

// Err returns nil for ok:true, and otherwise the verifier's refusal as a
// *harness.RefusedError, wrapping [harness.ErrUnsupported] when the reply
// says unsupported.
func (r Reply) Err(op string) error {
	if r.OK {
		return nil
	}
	msg := r.Error
	if msg == "" {
		msg = "no error text"
	}
	refused := &harness.RefusedError{Op: op, Message: msg}
	if r.Unsupported {
		return &unsupportedError{refused}
	}
	return refused
}

// unsupportedError is a refusal that marks the op as unsupported.
type unsupportedError struct{ *harness.RefusedError }

func (e *unsupportedError) Unwrap() []error {
	return []error{e.RefusedError, harness.ErrUnsupported}
}

// jsonProblem describes a decoding error without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return fmt.Sprintf("the message is a JSON %s, want an object", te.Value)
		}
		return fmt.Sprintf("field %q is a JSON %s, want %s", field, te.Value, jsonKind(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Uint64:
		return "integer in 0..2^64-1"
	case reflect.String:
		return "string"
	case reflect.Slice:
		return "array of strings"
	default:
		return "object"
	}
}

// jsonValueKind names the JSON type of a raw value ("a JSON number").
func jsonValueKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "empty"
	case b[0] == '"':
		return "a JSON string"
	case b[0] == '{':
		return "a JSON object"
	case b[0] == '[':
		return "a JSON array"
	case b[0] == 't' || b[0] == 'f':
		return "a JSON boolean"
	default:
		return "a JSON number"
	}
}

// excerpt quotes the start of a message for an error.
func excerpt(data []byte) string {
	const max = 120
	data = bytes.TrimRight(data, "\r\n")
	if len(data) > max {
		return fmt.Sprintf("%q... (%d bytes)", data[:max], len(data))
	}
	return fmt.Sprintf("%q", data)
}

// Requests from the harness's types.

func helloRequest() Request { return Request{Op: OpHello, Protocol: Protocol} }

func enrollRequest(t harness.Token) Request {
	w := TokenFrom(t)
	return Request{Op: OpEnroll, Token: &w}
}

func checkRequest(r harness.CheckRequest) Request {
	return Request{Op: OpCheck, Serial: r.Serial, Code: r.Code, Time: r.Time.Unix(), Purpose: r.Purpose}
}

func resyncRequest(r harness.ResyncRequest) Request {
	return Request{Op: OpResync, Serial: r.Serial, Codes: r.Codes, Time: r.Time.Unix()}
}

func unlockRequest(serial string) Request { return Request{Op: OpUnlock, Serial: serial} }

// Bounds on the verifier-supplied text the harness keeps: longer text is
// cut, the cut marked with the full length (see [printable.Bound]).
const (
	// MaxName bounds the hello name.
	MaxName = 200
	// MaxErrorText bounds the error text of an ok:false reply.
	MaxErrorText = 1024
)

// info converts a hello reply. The name is kept printable (control
// characters escaped) and at most MaxName bytes.
func (r Reply) info() harness.Info {
	return harness.Info{Name: printable.Text(r.Name, MaxName), Ops: r.Ops, Profile: r.Profile}
}

// errorText is an ok:false reply's error text as the harness keeps it:
// secrets masked, control characters escaped, at most MaxErrorText bytes,
// the cut marked with the full length. Only the start that can show is
// read (with enough beyond it that a secret across the cut is masked
// whole), so a megabyte of text costs no more than a kilobyte.
func errorText(red *Redactor, s string) string {
	return printable.Cut(printable.Escape(red.RedactPrefix(s, MaxErrorText)), MaxErrorText, len(s))
}

// verdict converts a check or resync reply.
func (r Reply) verdict() harness.Reply {
	return harness.Reply{Accepted: r.Accepted != nil && *r.Accepted, Locked: r.Locked}
}

// unixTime converts a request's time.
func unixTime(sec int64) time.Time { return time.Unix(sec, 0) }

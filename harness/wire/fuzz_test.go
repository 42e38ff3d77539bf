package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/otplab/otplab/harness"
)

// FuzzDecodeRequest: any bytes decode to a request or to an error that
// wraps ErrMalformed, never a panic; a request that decodes encodes back
// to the same request, and an enroll's token converts to the harness's.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"op":"hello","protocol":1}`,
		`{"id":2,"op":"enroll","token":{"serial":"1000000000001","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"3132","counter":18446744073709551615}}`,
		`{"id":3,"op":"enroll","token":{"serial":"2","kind":"totp","algorithm":"SHA512","digits":8,"secret":"00","period":30,"t0":0}}`,
		`{"id":4,"op":"check","serial":"1","code":"755224","time":1767225600}`,
		`{"id":5,"op":"resync","serial":"1","codes":["1","2"],"time":-1}`,
		`{"id":8,"op":"check","serial":"1","code":"755224","time":1,"purpose":"recovery"}`,
		`{"id":9,"op":"check","serial":"1","code":"755224","time":1,"purpose":null}`,
		`{"id":10,"op":"check","serial":"1","code":"1","time":1,"purpose":{"a":1}}`,
		`{"id":11,"op":"resync","serial":"1","codes":[],"time":1,"purpose":5}`,
		`{"id":6,"op":"unlock","serial":"1"}`,
		`{"id":7,"op":"x"}`, `{"id":1e3}`, `null`, `[]`, `{"id":-9223372036854775808,"op":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if req.Token != nil {
			if _, err := req.Token.Harness(); err != nil {
				t.Fatalf("decoded token does not convert: %v", err)
			}
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", again, err)
		}
		if req.Op == OpResync && req.Codes == nil {
			req.Codes = []string{}
		}
		if req.Purpose != "" && req.Op != OpCheck {
			t.Fatalf("a %s request decoded with purpose %q: only check carries one", req.Op, req.Purpose)
		}
		if d := cmp.Diff(req, back, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip changed the request (-first +second):\n%s", d)
		}
	})
}

// FuzzDecodeReply: any bytes decode to a reply to any op or to an error
// that wraps ErrMalformed (or ErrProfile for a hello reply's profile),
// never a panic; a check reply that decodes has its verdict.
func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"ok":true,"accepted":true}`,
		`{"id":1,"ok":true,"accepted":false,"locked":true}`,
		`{"id":1,"ok":false,"error":"x","unsupported":true}`,
		`{"id":1,"ok":true,"name":"v","ops":["check"],"profile":{"look_ahead":10,"resync":{"codes":2,"window":100}}}`,
		`{"id":1,"ok":true,"profile":{"clock":"sundial"}}`,
		`{"id":"1"}`, `{}`, `garbage`,
	} {
		for _, op := range Ops() {
			f.Add([]byte(s), op)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, op string) {
		rep, err := DecodeReply(data, op)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, harness.ErrProfile) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrProfile", err)
			}
			return
		}
		if rep.OK && (op == OpCheck || op == OpResync) && rep.Accepted == nil {
			t.Fatal("an ok reply to check without accepted decoded")
		}
		if rep.Profile != nil {
			if err := rep.Profile.Validate(); err != nil {
				t.Fatalf("an invalid profile decoded: %v", err)
			}
		}
	})
}

// FuzzParseProfile: any bytes parse to a valid profile or to an error
// that wraps harness.ErrProfile, and a profile that parses survives its
// own JSON form.
func FuzzParseProfile(f *testing.F) {
	for _, s := range []string{
		`{"kinds":["hotp","totp"],"algorithms":["SHA1","SHA256","SHA512"],"digits":[6,8],"look_ahead":10,"resync":{"codes":2,"window":1000},"lockout":{"after":5,"resync_unlocks":false},"totp":{"skew_back":1,"skew_ahead":1},"clock":"request"}`,
		`{}`, `{"look_ahead":0}`, `{"clock":"wall"}`, `{"lockout":{"after":-1}}`, `{"digits":[5]}`, `{"x":1}`, `{} {}`,
		`{"limits":"none"}`, `{"limits":"none","lockout":{"after":3,"resync_unlocks":false}}`, `{"limits":"some"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := harness.ParseProfile(data)
		if err != nil {
			if !errors.Is(err, harness.ErrProfile) {
				t.Fatalf("error %v does not wrap ErrProfile", err)
			}
			return
		}
		back, err := harness.ParseProfile(p.JSON())
		if err != nil {
			t.Fatalf("the profile's own JSON does not parse: %v\n%s", err, p.JSON())
		}
		if d := cmp.Diff(p, back, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip changed the profile (-first +second):\n%s", d)
		}
	})
}

// FuzzReadLine: the exec transport's line framing splits any byte stream
// as a simple model does: each line is what comes before a '\n' (or the
// end), without trailing '\r's; one of more than max bytes is reported as
// too long, and reported early, never returned; nothing is lost or
// invented, whatever the reader's buffer size.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("{\"id\":1}\n{\"id\":2}\r\n\nlast"), uint16(8), uint8(16))
	f.Add([]byte("short\nthis line is far too long\nok\n"), uint16(5), uint8(16))
	f.Add([]byte("abcdef\r\r\nabcdef\r"), uint16(6), uint8(16))
	f.Add([]byte(strings.Repeat("x", 100)), uint16(10), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, max16 uint16, size uint8) {
		max := int(max16 % 512)
		type line struct {
			text    string
			tooLong bool
		}
		var want []line
		pieces := bytes.Split(data, []byte("\n"))
		if len(pieces[len(pieces)-1]) == 0 {
			pieces = pieces[:len(pieces)-1] // a final newline ends the last line
		}
		for _, p := range pieces {
			text := bytes.TrimRight(p, "\r")
			if len(p) > max+1 || len(text) > max {
				want = append(want, line{tooLong: true})
			} else {
				want = append(want, line{text: string(text)})
			}
		}
		br := bufio.NewReaderSize(bytes.NewReader(data), 16+int(size))
		var got []line
		for range len(data) + 2 {
			early := false
			l, err := readLine(br, max, func() { early = true })
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, errLineTooLong) {
				if !early {
					t.Fatal("a line too long was not reported early")
				}
				got = append(got, line{tooLong: true})
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if early {
				t.Fatal("tooLong called for a line returned")
			}
			if len(l) > max || bytes.IndexByte(l, '\n') >= 0 {
				t.Fatalf("line %q: over %d bytes or holds a newline", l, max)
			}
			got = append(got, line{text: string(l)})
		}
		if d := cmp.Diff(want, got, cmp.AllowUnexported(line{}), cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("framing differs from the model (-want +got):\n%s", d)
		}
	})
}

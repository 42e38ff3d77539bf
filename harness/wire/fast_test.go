package wire

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/otplab/otplab/harness"
	"pgregory.net/rapid"
)

// jsonText draws strings that exercise the encoders' fast and slow
// paths: plain ASCII, characters encoding/json escapes, non-ASCII and
// invalid UTF-8.
func jsonText(t *rapid.T, label string) string {
	return rapid.OneOf(
		rapid.StringMatching(`[a-zA-Z0-9 ._:-]{0,16}`),
		rapid.StringMatching(`[a-z0-9"\\<>&\x00-\x1f\x7f é\x{2028}]{0,8}`),
		rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 8), func(b []byte) string { return string(b) }),
	).Draw(t, label)
}

// TestAppendRequestMatchesMarshal: the hand-written encoder writes the
// bytes encoding/json writes, for every op and any text.
func TestAppendRequestMatchesMarshal(t *testing.T) {
	harness.RapidCheck(t, func(t *rapid.T) {
		req := Request{
			ID:       rapid.Int64().Draw(t, "id"),
			Op:       rapid.SampledFrom(append(Ops(), "other")).Draw(t, "op"),
			Protocol: rapid.IntRange(-2, 3).Draw(t, "protocol"),
			Serial:   jsonText(t, "serial"),
			Code:     jsonText(t, "code"),
			Codes:    []string{jsonText(t, "code1")},
			Time:     rapid.Int64().Draw(t, "time"),
			Purpose:  jsonText(t, "purpose"),
		}
		want, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendRequest([]byte("prefix"), req)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Fatalf("appendRequest:\n got %s\nwant prefix%s", got, want)
		}
	})
}

// TestAppendReplyMatchesMarshal: the server's reply encoder writes the
// bytes encoding/json writes.
func TestAppendReplyMatchesMarshal(t *testing.T) {
	harness.RapidCheck(t, func(t *rapid.T) {
		rep := Reply{
			ID:          rapid.Int64().Draw(t, "id"),
			OK:          rapid.Bool().Draw(t, "ok"),
			Error:       jsonText(t, "error"),
			Unsupported: rapid.Bool().Draw(t, "unsupported"),
			Locked:      rapid.Bool().Draw(t, "locked"),
		}
		if rapid.Bool().Draw(t, "has accepted") {
			a := rapid.Bool().Draw(t, "accepted")
			rep.Accepted = &a
		}
		if rapid.Bool().Draw(t, "hello") {
			rep.Name, rep.Ops = jsonText(t, "name"), Ops()
		}
		want, _ := json.Marshal(rep)
		if got := appendReply(nil, rep); string(got) != string(want) {
			t.Fatalf("appendReply:\n got %s\nwant %s", got, want)
		}
	})
}

// TestFastDecodersMatchStrict: on the messages the client and server
// write, and on variations of their shape (spacing, key order, repeated,
// unknown or missing keys, wrong types, escapes), the fast decoders
// either decline or give what the strict decoders give; the plain shapes
// are taken by the fast path.
func TestFastDecodersMatchStrict(t *testing.T) {
	for _, tc := range []struct {
		data string
		fast bool
	}{
		{`{"id":7,"op":"check","serial":"s1","code":"123456","time":59}`, true},
		{` { "time" : -3 , "code":"1","serial":"","op":"check","id":-0 , "purpose":"login"}` + "\n", true},
		{`{"id":7,"op":"check","serial":"s1","code":"123456"}`, false},
		{`{"id":7,"op":"check","serial":"s1","code":"1","time":1,"id":8}`, false},
		{`{"ID":7,"op":"check","serial":"s1","code":"1","time":1}`, false},
		{`{"id":7,"op":"check","serial":"s\u0031","code":"1","time":1}`, false},
		{`{"id":7,"op":"check","serial":"s1","code":"1","time":1.5}`, false},
		{`{"id":07,"op":"check","serial":"s1","code":"1","time":1}`, false},
		{`{"id":7,"op":"check","serial":"s1","code":"1","time":1,"purpose":null}`, false},
		{`{"id":7,"op":"check","serial":"s1","code":"1","time":1,"x":1}`, false},
		{`{"id":9223372036854775808,"op":"check","serial":"s1","code":"1","time":1}`, false},
		{`{"id":7,"op":"unlock","serial":"s1"}`, false},
		{`{"id":7,"op":"check","serial":"s1","code":"1","time":1}x`, false},
		{`{"id":7,"op":"check","serial":"s1","code":"1","time":1`, false},
	} {
		req, fast := decodeCheckRequestFast([]byte(tc.data))
		if fast != tc.fast {
			t.Errorf("decodeCheckRequestFast(%s): fast %v, want %v", tc.data, fast, tc.fast)
		}
		checkRequestAgrees(t, []byte(tc.data))
		if fast && req.Op != OpCheck {
			t.Errorf("decodeCheckRequestFast(%s) = %+v", tc.data, req)
		}
	}
	for _, tc := range []struct {
		data, op string
		fast     bool
	}{
		{`{"id":1,"ok":true,"accepted":true}`, OpCheck, true},
		{` {"accepted":false , "locked":true,"ok":true,"id":-12}` + "\r\n", OpResync, true},
		{`{"id":1,"ok":true,"accepted":true}`, OpUnlock, false},
		{`{"id":1,"ok":false,"error":"no"}`, OpCheck, false},
		{`{"id":1,"ok":true}`, OpCheck, false},
		{`{"id":1,"ok":true,"accepted":1}`, OpCheck, false},
		{`{"id":1,"ok":true,"accepted":true,"accepted":false}`, OpCheck, false},
		{`{"id":1,"ok":true,"accepted":true,"name":"x"}`, OpCheck, false},
		{`{"id":1,"ok":true,"accepted":truex}`, OpCheck, false},
		{`{"id":1e0,"ok":true,"accepted":true}`, OpCheck, false},
		{`[]`, OpCheck, false},
		{`{"id":1,"ok":true,"accepted":true,}`, OpCheck, false},
		{`{"id":1,"ok":true "accepted":true}`, OpCheck, false},
		{`{,"id":1,"ok":true,"accepted":true}`, OpCheck, false},
		{`{}`, OpCheck, false},
		{`{"id":1,"ok":true,"accepted":true}{}`, OpCheck, false},
	} {
		if _, fast := decodeVerdictFast([]byte(tc.data), tc.op); fast != tc.fast {
			t.Errorf("decodeVerdictFast(%s, %s): fast %v, want %v", tc.data, tc.op, fast, tc.fast)
		}
		checkReplyAgrees(t, []byte(tc.data), tc.op)
	}
	harness.RapidCheck(t, func(t *rapid.T) {
		rep := Reply{ID: rapid.Int64().Draw(t, "id"), OK: rapid.Bool().Draw(t, "ok"), Locked: rapid.Bool().Draw(t, "locked")}
		a := rapid.Bool().Draw(t, "accepted")
		rep.Accepted = &a
		data := appendReply(nil, rep)
		op := rapid.SampledFrom([]string{OpCheck, OpResync, OpEnroll}).Draw(t, "op")
		if _, fast := decodeVerdictFast(data, op); fast != (rep.OK && op != OpEnroll) {
			t.Fatalf("decodeVerdictFast(%s, %s): fast %v", data, op, fast)
		}
		checkReplyAgrees(t, data, op)
		req := Request{ID: rep.ID, Op: OpCheck, Serial: jsonText(t, "serial"), Code: jsonText(t, "code"), Time: rapid.Int64().Draw(t, "time"), Purpose: jsonText(t, "purpose")}
		data, _ = appendRequest(nil, req)
		_, fast := decodeCheckRequestFast(data)
		if plain := plainASCII(req.Serial) && plainASCII(req.Code) && plainASCII(req.Purpose); fast != plain {
			t.Fatalf("decodeCheckRequestFast(%s): fast %v, want %v", data, fast, plain)
		}
		checkRequestAgrees(t, data)
	})
}

// checkRequestAgrees fails t when the fast request decoder takes data and
// gives other than DecodeRequest.
func checkRequestAgrees(t interface{ Fatalf(string, ...any) }, data []byte) {
	got, fast := decodeCheckRequestFast(data)
	if !fast {
		return
	}
	want, err := DecodeRequest(data)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: fast %+v, strict %+v %v", data, got, want, err)
	}
}

// checkReplyAgrees fails t when the fast reply decoder takes data and
// gives other than DecodeReply.
func checkReplyAgrees(t interface{ Fatalf(string, ...any) }, data []byte, op string) {
	got, fast := decodeVerdictFast(data, op)
	if !fast {
		return
	}
	want, err := DecodeReply(data, op)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: fast %+v, strict %+v %v", data, got, want, err)
	}
}

// FuzzFastDecoders: whatever the fast decoders take, the strict decoders
// read the same way.
func FuzzFastDecoders(f *testing.F) {
	f.Add([]byte(`{"id":7,"op":"check","serial":"s1","code":"123456","time":59,"purpose":"login"}`))
	f.Add([]byte(`{"id":1,"ok":true,"accepted":true,"locked":false}`))
	f.Add([]byte(` {"accepted":false , "ok":true,"id":-12}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRequestAgrees(t, data)
		for _, op := range []string{OpCheck, OpResync} {
			checkReplyAgrees(t, data, op)
		}
	})
}

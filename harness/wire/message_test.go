package wire

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/token"
)

func TestRequestEncoding(t *testing.T) {
	totp := harness.Token{Serial: "2000000000001", Kind: harness.TOTP, Algorithm: token.SHA256, Digits: 8, Secret: []byte{0xab, 0x01}, Period: 30}
	big := testToken
	big.Counter = token.MaxCounter
	now := time.Unix(1_767_225_600, 0)
	tests := []struct {
		req  Request
		want string
	}{
		{helloRequest(), `{"id":0,"op":"hello","protocol":1}`},
		{enrollRequest(big), `{"id":0,"op":"enroll","token":{"serial":"1000000000001","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"3132333435363738393031323334353637383930","counter":18446744073709551615}}`},
		{enrollRequest(testToken), `{"id":0,"op":"enroll","token":{"serial":"1000000000001","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"3132333435363738393031323334353637383930","counter":0}}`},
		{enrollRequest(totp), `{"id":0,"op":"enroll","token":{"serial":"2000000000001","kind":"totp","algorithm":"SHA256","digits":8,"secret":"ab01","period":30,"t0":0}}`},
		{checkRequest(harness.CheckRequest{Serial: "1", Code: "", Time: now}), `{"id":0,"op":"check","serial":"1","code":"","time":1767225600}`},
		{checkRequest(harness.CheckRequest{Serial: "1", Code: "\u0667\n\"", Time: now}), `{"id":0,"op":"check","serial":"1","code":"٧\n\"","time":1767225600}`},
		{checkRequest(harness.CheckRequest{Serial: "1", Code: "287082", Time: now, Purpose: harness.PurposeRecovery}), `{"id":0,"op":"check","serial":"1","code":"287082","time":1767225600,"purpose":"recovery"}`},
		{checkRequest(harness.CheckRequest{Serial: "1", Code: "287082", Time: now, Purpose: "any string at all"}), `{"id":0,"op":"check","serial":"1","code":"287082","time":1767225600,"purpose":"any string at all"}`},
		{resyncRequest(harness.ResyncRequest{Serial: "1", Time: now}), `{"id":0,"op":"resync","serial":"1","codes":[],"time":1767225600}`},
		{resyncRequest(harness.ResyncRequest{Serial: "1", Codes: []string{"1", "2"}, Time: now}), `{"id":0,"op":"resync","serial":"1","codes":["1","2"],"time":1767225600}`},
		{unlockRequest("1"), `{"id":0,"op":"unlock","serial":"1"}`},
		{Request{ID: 9, Op: "frobnicate", Serial: "x"}, `{"id":9,"op":"frobnicate"}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.req)
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(got))
		back, err := DecodeRequest(got)
		require.NoError(t, err, tt.want)
		if tt.req.Op == OpResync && tt.req.Codes == nil {
			tt.req.Codes = []string{}
		}
		if tt.req.Op == "frobnicate" {
			tt.req.Serial = ""
		}
		assert.Empty(t, cmp.Diff(tt.req, back), tt.want)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	for _, tok := range []harness.Token{testToken, {Serial: "2", Kind: harness.TOTP, Algorithm: token.SHA512, Digits: 10, Secret: []byte{1}, Period: 60, T0: -5}} {
		back, err := TokenFrom(tok).Harness()
		require.NoError(t, err)
		assert.Equal(t, tok, back)
	}
	assert.NotContains(t, TokenFrom(testToken).String(), "3132")
	assert.NotContains(t, (&struct{ T Token }{TokenFrom(testToken)}).T.GoString(), "3132")
}

func TestDecodeRequestErrors(t *testing.T) {
	tests := []struct {
		in, want string
		id       int64
	}{
		{`not json`, "invalid JSON", 0},
		{`[1]`, "the message is a JSON array, want an object", 0},
		{`{"op":"check"}`, "missing id", 0},
		{`{"id":1.5,"op":"check"}`, `field "id" is a JSON number 1.5, want integer`, 0},
		{`{"id":3}`, "request 3: missing op", 3},
		{`{"id":4,"op":"hello"}`, "missing protocol", 4},
		{`{"id":5,"op":"check","serial":"1","code":123456,"time":1}`, `field "code" is a JSON number, want string`, 5},
		{`{"id":6,"op":"check","serial":"1","code":"1","time":"now"}`, `field "time" is a JSON string, want integer`, 6},
		{`{"id":7,"op":"resync","serial":"1","time":1}`, "missing serial, codes or time", 7},
		{`{"id":19,"op":"check","serial":"1","code":"1","time":1,"purpose":7}`, `check request 19: field "purpose" is a JSON number, want a string`, 19},
		{`{"id":20,"op":"check","serial":"1","code":"1","time":1,"purpose":["login"]}`, `field "purpose" is a JSON array, want a string`, 20},
		{`{"id":8,"op":"resync","serial":"1","codes":["1",2],"time":1}`, `field "codes" is a JSON number, want string`, 8},
		{`{"id":9,"op":"unlock"}`, "missing serial", 9},
		{`{"id":10,"op":"enroll"}`, "missing token", 10},
		{`{"id":11,"op":"enroll","token":{"serial":"1","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"zz","counter":0}}`, "secret is not a non-empty hex string", 11},
		{`{"id":12,"op":"enroll","token":{"serial":"1","kind":"hotp","algorithm":"sha-1","digits":6,"secret":"00","counter":0}}`, `algorithm "sha-1"`, 12},
		{`{"id":13,"op":"enroll","token":{"serial":"1","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"00"}}`, "hotp token without counter", 13},
		{`{"id":14,"op":"enroll","token":{"serial":"1","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"00","counter":-1}}`, `field "token.counter" is a JSON number -1, want integer in 0..2^64-1`, 14},
		{`{"id":15,"op":"enroll","token":{"serial":"1","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"00","counter":18446744073709551616}}`, `field "token.counter"`, 15},
		{`{"id":16,"op":"enroll","token":{"serial":"1","kind":"hotp","algorithm":"SHA1","digits":6,"secret":"00","counter":"5"}}`, `field "token.counter" is a JSON string, want integer in 0..2^64-1`, 16},
		{`{"id":17,"op":"enroll","token":{"serial":"1","kind":"totp","algorithm":"SHA1","digits":6,"secret":"00","period":30}}`, "totp token without period and t0", 17},
		{`{"id":18,"op":"enroll","token":{"serial":"1","kind":"motp","algorithm":"SHA1","digits":6,"secret":"00"}}`, `kind "motp"`, 18},
		{`{"id":1} {"id":2}`, "invalid JSON", 0},
	}
	for _, tt := range tests {
		req, err := DecodeRequest([]byte(tt.in))
		require.ErrorIs(t, err, ErrMalformed, tt.in)
		assert.Contains(t, err.Error(), tt.want, tt.in)
		assert.Equal(t, tt.id, req.ID, tt.in)
	}
}

func TestDecodeReply(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		in, op string
		want   Reply
	}{
		{`{"id":1,"ok":true,"accepted":true}`, OpCheck, Reply{ID: 1, OK: true, Accepted: &yes}},
		{`{"id":1,"ok":true,"accepted":false,"locked":true,"debug":"x"}`, OpResync, Reply{ID: 1, OK: true, Accepted: &no, Locked: true}},
		{`{"id":2,"ok":true}`, OpEnroll, Reply{ID: 2, OK: true}},
		{`{"id":3,"ok":false,"error":"no such token"}`, OpUnlock, Reply{ID: 3, Error: "no such token"}},
		{`{"id":4,"ok":false,"error":"x","unsupported":true}`, OpResync, Reply{ID: 4, Error: "x", Unsupported: true}},
		{`{"id":5,"ok":false}`, OpCheck, Reply{ID: 5}},
		{`{"id":6,"ok":true,"name":"v","ops":["check"],"profile":null}`, OpHello, Reply{ID: 6, OK: true, Name: "v", Ops: []string{"check"}}},
		{`{"id":7,"ok":true,"name":"v","profile":{"look_ahead":3}}`, OpHello, Reply{ID: 7, OK: true, Name: "v", Profile: &harness.Profile{LookAhead: harness.Uint64(3)}}},
	}
	for _, tt := range tests {
		got, err := DecodeReply([]byte(tt.in), tt.op)
		require.NoError(t, err, tt.in)
		assert.Empty(t, cmp.Diff(tt.want, got), tt.in)
	}
}

func TestDecodeReplyErrors(t *testing.T) {
	tests := []struct{ in, op, want string }{
		{``, OpCheck, "invalid JSON"},
		{`{"ok":true,"accepted":true}`, OpCheck, "reply without an integer id"},
		{`{"id":"1","ok":true,"accepted":true}`, OpCheck, `field "id" is a JSON string, want integer`},
		{`{"id":1,"accepted":true}`, OpCheck, "missing ok"},
		{`{"id":1,"ok":"true","accepted":true}`, OpCheck, `field "ok" is a JSON string, want boolean`},
		{`{"id":1,"ok":true}`, OpCheck, "reply to check: missing accepted"},
		{`{"id":1,"ok":true,"accepted":null}`, OpResync, "reply to resync: missing accepted"},
		{`{"id":1,"ok":true,"accepted":1}`, OpCheck, `field "accepted" is a JSON number, want boolean`},
		{`{"id":1,"ok":true,"accepted":true,"locked":"no"}`, OpCheck, `field "locked" is a JSON string, want boolean`},
		{`{"id":1,"ok":false,"error":7}`, OpCheck, `field "error" is a JSON number, want string`},
		{`{"id":1,"ok":true,"ops":"check"}`, OpHello, `field "ops" is a JSON string, want array of strings`},
		{`{"id":1,"ok":true,"accepted":true}x`, OpCheck, "invalid JSON"},
	}
	for _, tt := range tests {
		_, err := DecodeReply([]byte(tt.in), tt.op)
		require.ErrorIs(t, err, ErrMalformed, tt.in)
		require.ErrorIs(t, err, ErrTransport, tt.in)
		assert.Contains(t, err.Error(), tt.want, tt.in)
	}
	_, err := DecodeReply([]byte(`{"id":1,"ok":true,"profile":{"look_ahead":-1}}`), OpHello)
	require.ErrorIs(t, err, harness.ErrProfile)
}

func TestReplyErr(t *testing.T) {
	assert.NoError(t, Reply{OK: true}.Err(OpCheck))
	err := Reply{Error: "boom"}.Err(OpCheck)
	var refused *harness.RefusedError
	require.ErrorAs(t, err, &refused)
	assert.Equal(t, "verifier refused check: boom", err.Error())
	assert.False(t, errors.Is(err, harness.ErrUnsupported))
	err = Reply{Unsupported: true}.Err(OpResync)
	require.ErrorAs(t, err, &refused)
	assert.ErrorIs(t, err, harness.ErrUnsupported)
	assert.Equal(t, "verifier refused resync: no error text", err.Error())
}

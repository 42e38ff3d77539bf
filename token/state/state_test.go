package state_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/otplab/otplab/token"
	"github.com/otplab/otplab/token/state"
	"github.com/otplab/otplab/vectors"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func c100(t *testing.T) *state.Device {
	d, err := token.NewC100(token.C100Config{Serial: "1000000000001", Secret: vectors.RFC4226Secret()})
	require.NoError(t, err)
	return &state.Device{C100: d}
}

func TestC100File(t *testing.T) {
	d := c100(t)
	for range 4 {
		p, err := d.C100.Press(t0)
		require.NoError(t, err)
		t0 = p.Until
	}
	b, err := state.Marshal(d)
	require.NoError(t, err)
	s := string(b)
	assert.Contains(t, s, `"version": 1`)
	assert.Contains(t, s, `"secret": "3132333435363738393031323334353637383930"`)
	assert.Contains(t, s, `"counter": 4`)
	assert.Contains(t, s, `"code": "969429"`)
	back, err := state.Unmarshal(b)
	require.NoError(t, err)
	assert.Equal(t, d.C100.Config(), back.C100.Config())
}

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		secret := rapid.SliceOfN(rapid.Byte(), 1, 64).Draw(t, "secret")
		alg := rapid.SampledFrom(token.Algorithms()).Draw(t, "alg")
		digits := rapid.IntRange(6, 10).Draw(t, "digits")
		var d state.Device
		if rapid.Bool().Draw(t, "c100") {
			c, err := token.NewC100(token.C100Config{
				Serial: token.Serial(rapid.StringMatching(`1[0-9]{12}`).Draw(t, "serial")), Secret: secret,
				Algorithm: alg, Digits: digits, Counter: rapid.Uint64().Draw(t, "counter"),
				Display:        time.Duration(rapid.Int64Range(1, 1e12).Draw(t, "display")),
				AdvanceWhileOn: rapid.Bool().Draw(t, "advance"),
			})
			require.NoError(t, err)
			now := t0
			for range rapid.IntRange(0, 3).Draw(t, "presses") {
				if _, err := c.Press(now); err != nil {
					break
				}
				now = now.Add(time.Duration(rapid.Int64Range(0, 1e11).Draw(t, "gap")))
			}
			d.C100 = c
		} else {
			model := rapid.SampledFrom([]token.Model{token.ModelC200, token.ModelApp}).Draw(t, "model")
			c, err := token.NewC200(token.C200Config{
				Model: model, Serial: token.Serial(rapid.StringMatching(`2[0-9]{12}`).Draw(t, "serial")),
				Secret: secret, Algorithm: alg, Digits: digits, Period: rapid.Int64Range(1, 600).Draw(t, "period"),
				T0:       rapid.Int64Range(-1e9, 1e9).Draw(t, "t0"),
				Offset:   time.Duration(rapid.Int64Range(-1e15, 1e15).Draw(t, "offset")),
				PPM:      rapid.Float64Range(-1000, 1000).Draw(t, "ppm"),
				SyncedAt: t0.Add(time.Duration(rapid.Int64Range(-1e15, 1e15).Draw(t, "synced"))),
			})
			require.NoError(t, err)
			d.C200 = c
		}
		d.Manufacturer = rapid.SampledFrom([]string{"", "Feitian Technology Co.,Ltd"}).Draw(t, "manufacturer")
		b, err := state.Marshal(&d)
		require.NoError(t, err)
		back, err := state.Unmarshal(b)
		require.NoError(t, err)
		if d.C100 != nil {
			if diff := cmp.Diff(d.C100.Config(), back.C100.Config()); diff != "" {
				t.Fatalf("c100 round trip:\n%s", diff)
			}
		} else if diff := cmp.Diff(d.C200.Config(), back.C200.Config()); diff != "" {
			t.Fatalf("c200 round trip:\n%s", diff)
		}
		assert.Equal(t, d.Manufacturer, back.Manufacturer)
	})
}

const good = `{"version":1,"model":"c100","serial":"1000000000001","algorithm":"SHA1","digits":6,
"secret":"3132333435363738393031323334353637383930","counter":1,"display":"10s",
"shown":{"at":"2026-11-23T09:00:00Z","until":"2026-11-23T09:00:10Z","counter":0,"code":"755224","advanced":true}}`

func TestNonsense(t *testing.T) {
	_, err := state.Unmarshal([]byte(good))
	require.NoError(t, err)
	for name, edit := range map[string][2]string{
		"version 2":           {`"version":1`, `"version":2`},
		"unknown model":       {`"model":"c100"`, `"model":"c300"`},
		"upper-case model":    {`"model":"c100"`, `"model":"C100"`},
		"short serial":        {`"1000000000001"`, `"100000000001"`},
		"c200 serial on c100": {`"1000000000001"`, `"2000000000001"`},
		"odd hex":             {`3930"`, `393"`},
		"not hex":             {`3930"`, `39zz"`},
		"bad algorithm":       {`"SHA1"`, `"MD5"`},
		"5 digits":            {`"digits":6`, `"digits":5`},
		"negative counter":    {`"counter":1,`, `"counter":-1,`},
		"counter as string":   {`"counter":1,`, `"counter":"1",`},
		"no counter":          {`"counter":1,`, ``},
		"zero display":        {`"10s"`, `"0s"`},
		"garbage display":     {`"10s"`, `"ten seconds"`},
		"wrong shown code":    {`"755224"`, `"755225"`},
		"shown ahead":         {`"counter":0,"code"`, `"counter":1,"code"`},
		"until before at":     {`09:00:10Z`, `08:59:59Z`},
		"bad time":            {`2026-11-23T09:00:00Z`, `yesterday`},
		"unknown field":       {`"digits":6`, `"digits":6,"digitz":8`},
		"time field on c100":  {`"digits":6`, `"digits":6,"period":30`},
		"exhausted early":     {`"digits":6`, `"digits":6,"exhausted":true`},
		"trailing data":       {`"advanced":true}}`, `"advanced":true}}{}`},
		"truncated":           {`"advanced":true}}`, `"advanced":tr`},
		"not json":            {good, `serial=1000000000001`},
		"empty":               {good, ``},
	} {
		in := strings.Replace(good, edit[0], edit[1], 1)
		require.NotEqual(t, good, in, name)
		_, err := state.Unmarshal([]byte(in))
		require.Error(t, err, name)
		assert.ErrorIs(t, err, state.ErrState, name)
		assert.NotContains(t, err.Error(), "3132333435363738393031323334353637383930", name)
		assert.NotContains(t, err.Error(), "\n", name)
	}
	_, err = state.Unmarshal([]byte(strings.Replace(good, `"version":1`, `"version":2`, 1)))
	assert.ErrorIs(t, err, state.ErrVersion)
	_, err = state.Unmarshal(make([]byte, state.MaxSize+1))
	assert.ErrorIs(t, err, state.ErrState)
}

func TestTimeTokenNonsense(t *testing.T) {
	const tt = `{"version":1,"model":"c200","serial":"2000000000001","algorithm":"SHA1","digits":6,
"secret":"3132","period":60,"t0":0,"clock_offset":"0s","ppm":0,"synced_at":"2026-11-23T09:00:00Z"}`
	_, err := state.Unmarshal([]byte(tt))
	require.NoError(t, err)
	for name, edit := range map[string][2]string{
		"period 0":         {`"period":60`, `"period":0`},
		"no period":        {`"period":60,`, ``},
		"counter on c200":  {`"period":60`, `"period":60,"counter":3`},
		"ppm out of range": {`"ppm":0`, `"ppm":2e6`},
		"bad offset":       {`"0s"`, `"soon"`},
		"bad synced_at":    {`2026-11-23T09:00:00Z`, `2026-13-23`},
		"c100 serial":      {`"2000000000001"`, `"1000000000001"`},
	} {
		_, err := state.Unmarshal([]byte(strings.Replace(tt, edit[0], edit[1], 1)))
		assert.ErrorIs(t, err, state.ErrState, name)
	}
}

func TestMarshalRefusesEmptyDevice(t *testing.T) {
	_, err := state.Marshal(&state.Device{})
	assert.ErrorIs(t, err, state.ErrState)
}

// TestSecretInAFieldNotEchoed: a secret pasted by hand into a text field
// (in any form: hex, base32) never comes back in the error about it.
func TestSecretInAFieldNotEchoed(t *testing.T) {
	const tt = `{"version":1,"model":"c200","serial":"2000000000001","algorithm":"SHA1","digits":6,
"secret":"3132","period":60,"t0":0,"clock_offset":"0s","ppm":0,"synced_at":"2026-11-23T09:00:00Z"}`
	for _, pasted := range []string{"3132333435363738393031323334353637383930", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "12345678901234567890"} {
		for name, edit := range map[string][2]string{
			"model":        {`"model":"c200"`, `"model":"` + pasted + `"`},
			"serial":       {`"2000000000001"`, `"` + pasted + `"`},
			"algorithm":    {`"SHA1"`, `"` + pasted + `"`},
			"clock_offset": {`"0s"`, `"` + pasted + `"`},
			"synced_at":    {`"2026-11-23T09:00:00Z"`, `"` + pasted + `"`},
		} {
			_, err := state.Unmarshal([]byte(strings.Replace(tt, edit[0], edit[1], 1)))
			require.Error(t, err, name)
			assert.ErrorIs(t, err, state.ErrState, name)
			assert.Contains(t, err.Error(), name, "the error names the field")
			assert.NotContains(t, err.Error(), pasted[:8], name)
		}
		_, err := state.Unmarshal([]byte(strings.Replace(good, `"10s"`, `"`+pasted+`"`, 1)))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), pasted[:8], "display")
	}
}

// TestClockOffsetBound: a state file takes a clock offset up to
// token.MaxClockOffset either way, the bound fleet and drift use too.
func TestClockOffsetBound(t *testing.T) {
	const tt = `{"version":1,"model":"c200","serial":"2000000000001","algorithm":"SHA1","digits":6,
"secret":"3132","period":60,"t0":0,"clock_offset":"0s","ppm":0,"synced_at":"2026-11-23T09:00:00Z"}`
	for off, ok := range map[time.Duration]bool{
		token.MaxClockOffset: true, -token.MaxClockOffset: true,
		token.MaxClockOffset + time.Second: false, -token.MaxClockOffset - time.Second: false,
		9_200_000_000 * time.Second: false,
	} {
		_, err := state.Unmarshal([]byte(strings.Replace(tt, `"0s"`, `"`+off.String()+`"`, 1)))
		if ok {
			assert.NoError(t, err, "%v", off)
		} else {
			assert.ErrorIs(t, err, token.ErrConfig, "%v", off)
		}
	}
}

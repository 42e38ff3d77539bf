package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
)

// TestProbeRecoversProfiles starts the reference with five different
// policies and checks that `conformance probe` prints exactly each one,
// measuring without trusting the hello claim. Profiles are written
// in the explicit form probe prints ("resync": {"codes": 0} for none).
func TestProbeRecoversProfiles(t *testing.T) {
	for name, js := range map[string]string{
		"l0-none":     `{"kinds":["hotp"],"algorithms":["SHA1"],"digits":[6],"look_ahead":0,"resync":{"codes":0,"window":0},"lockout":{"after":0,"resync_unlocks":false}}`,
		"l1-resync":   `{"kinds":["hotp"],"algorithms":["SHA1"],"digits":[6],"look_ahead":1,"resync":{"codes":2,"window":50},"lockout":{"after":3,"resync_unlocks":false}}`,
		"l10-totp":    `{"kinds":["hotp","totp"],"algorithms":["SHA1","SHA256","SHA512"],"digits":[6,8],"look_ahead":10,"resync":{"codes":3,"window":1000},"lockout":{"after":10,"resync_unlocks":false},"totp":{"skew_back":2,"skew_ahead":0},"clock":"request"}`,
		"l100-ru":     `{"kinds":["hotp","totp"],"algorithms":["SHA1"],"digits":[6],"look_ahead":100,"resync":{"codes":2,"window":1000},"lockout":{"after":3,"resync_unlocks":true},"totp":{"skew_back":1,"skew_ahead":1},"clock":"request"}`,
		"l3-sha256-8": `{"kinds":["hotp"],"algorithms":["SHA256"],"digits":[8],"look_ahead":3,"resync":{"codes":0,"window":0},"lockout":{"after":5,"resync_unlocks":false}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in := filepath.Join(dir, "in.json")
			require.NoError(t, os.WriteFile(in, []byte(js), 0o644))
			want, err := harness.ParseProfile([]byte(js))
			require.NoError(t, err)
			out := filepath.Join(dir, "out.json")
			r := cli(t, context.Background(), "probe", "--profile", in, "--ignore-claim", "--seed", "4", "--out", out, "--report-dir", filepath.Join(dir, "rep"))
			require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			got, err := harness.ParseProfile(b)
			require.NoError(t, err, string(b))
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("probe measured a different profile (-started +measured):\n%s\n%s", d, r.stderr)
			}
			for _, f := range []string{"probe.svg", "report.html"} {
				_, err = os.Stat(filepath.Join(dir, "rep", f))
				require.NoError(t, err)
			}
		})
	}
}
